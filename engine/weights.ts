/**
 * A module's weights as a safetensors file with PyTorch names and layouts (timm / MoCo v3), so
 * `model.load_state_dict(safetensors.torch.load_file(path))` works on what sslbench writes, and
 * sslbench loads what PyTorch writes. Loading is strict like load_state_dict(strict=True):
 * missing, unexpected and mis-shaped tensors are errors naming the file and the tensor.
 */
import type { Module } from './module.ts';
import { readSafetensors, toFloat32, writeSafetensors, type StTensor } from './safetensors.ts';

export async function stateDict(m: Module): Promise<Map<string, StTensor>> {
  const out = new Map<string, StTensor>();
  for (const e of m.torchEntries()) {
    out.set(e.name, { dtype: e.dtype, shape: e.shape, data: await e.read() });
  }
  return out;
}

export async function saveWeights(m: Module, file: string, metadata: Record<string, string> = {}): Promise<void> {
  writeSafetensors(file, await stateDict(m), { format: 'pt', ...metadata });
}

export interface LoadOptions {
  /** Allow tensors in the file that the module does not have (e.g. a checkpoint with heads). */
  allowUnexpected?: boolean;
  /** Strip this prefix from file names first (e.g. `module.base_encoder.`); names without it are left out. */
  prefix?: string;
  /** Leave out the classifier head (`head.*`, `fc.*` after the prefix): a timm or torchvision checkpoint's. */
  ignoreHead?: boolean;
}

export function loadWeights(m: Module, file: string, opts: LoadOptions = {}): void {
  const st = readSafetensors(file);
  const tensors = new Map<string, StTensor>();
  for (const [name, t] of st.tensors) {
    if (opts.prefix && !name.startsWith(opts.prefix)) continue;
    const own = opts.prefix ? name.slice(opts.prefix.length) : name;
    if (opts.ignoreHead && /^(head|fc)\./.test(own)) continue;
    tensors.set(own, t);
  }
  if (opts.prefix && tensors.size === 0) {
    const some = [...st.tensors.keys()].slice(0, 3).join(', ');
    throw new Error(`${file}: no tensor name starts with the prefix '${opts.prefix}' (names look like: ${some})`);
  }
  const entries = m.torchEntries();
  const expected = new Set(entries.map((e) => e.name));
  const problems: string[] = [];
  for (const e of entries) {
    const t = tensors.get(e.name);
    if (!t) {
      problems.push(`missing tensor '${e.name}' [${e.shape.join(', ')}]`);
      continue;
    }
    if (t.shape.length !== e.shape.length || t.shape.some((d, i) => d !== e.shape[i])) {
      problems.push(`tensor '${e.name}' has shape [${t.shape.join(', ')}], the model needs [${e.shape.join(', ')}]`);
    }
    const bad =
      e.dtype === 'I64' && !(t.data instanceof BigInt64Array)
        ? Array.from(t.data as ArrayLike<number>).find((v) => !Number.isInteger(v))
        : undefined;
    if (bad !== undefined) problems.push(`tensor '${e.name}' is a counter (integers), but holds ${bad} (${t.dtype})`);
  }
  if (!opts.allowUnexpected) {
    for (const name of tensors.keys()) if (!expected.has(name)) problems.push(`unexpected tensor '${name}'`);
  }
  if (problems.length) throw new Error(`${file}: cannot load into the model:\n  ${problems.join('\n  ')}`);
  for (const e of entries) {
    const t = tensors.get(e.name)!;
    if (e.dtype === 'I64') {
      const d = t.data;
      e.write(d instanceof BigInt64Array ? d : BigInt64Array.from(Array.from(d as ArrayLike<number>, (v) => BigInt(v))));
    } else {
      e.write(toFloat32(t, e.name, file));
    }
  }
}

/**
 * Checkpoints of a pre-training run, so a killed run resumes where it stopped. A checkpoint is
 * `ckpt-<iter>.safetensors` (every module's tensors under a prefix, optimiser state, kNN monitor
 * queue) plus `checkpoint.json` (iteration, curves, counters), which names the tensor file and is
 * written last, atomically: a crash at any moment leaves the previous checkpoint intact.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Module } from '../engine/module.ts';
import { readSafetensors, toFloat32, writeSafetensors, type StTensor } from '../engine/safetensors.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';
import type { CheckpointMeta, Checkpointable } from '../core/checkpoint.ts';

const META = 'checkpoint.json';

export async function saveCheckpoint<J>(
  dir: string,
  iter: number,
  modules: Record<string, Module>,
  parts: Record<string, Checkpointable>,
  json: J,
): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const tensors = new Map<string, StTensor>();
  for (const [prefix, m] of Object.entries(modules)) {
    for (const e of m.torchEntries()) tensors.set(`${prefix}.${e.name}`, { dtype: e.dtype, shape: e.shape, data: await e.read() });
  }
  const scalars: Record<string, Record<string, number>> = {};
  for (const [prefix, part] of Object.entries(parts)) {
    const s = await part.stateForCheckpoint();
    scalars[prefix] = s.scalars;
    for (const [name, data] of s.tensors) {
      tensors.set(`${prefix}.${name}`, { dtype: data instanceof Int32Array ? 'I32' : 'F32', shape: [data.length], data });
    }
  }
  const file = `ckpt-${iter}.safetensors`;
  writeSafetensors(path.join(dir, file), tensors, { iter: String(iter) });
  const meta: CheckpointMeta<J> = { iter, file, scalars, json };
  writeFileAtomic(path.join(dir, META), JSON.stringify(meta));
  for (const f of fs.readdirSync(dir)) if (/^ckpt-\d+\.safetensors$/.test(f) && f !== file) fs.rmSync(path.join(dir, f));
}

/** The index's fields, checked before any is used: an iteration, a tensor file inside the run folder, scalars. */
function checkIndex(metaFile: string, meta: unknown): asserts meta is CheckpointMeta<unknown> {
  const m = meta as Partial<CheckpointMeta<unknown>> | null;
  const problems: string[] = [];
  if (typeof m !== 'object' || m === null) problems.push('not a JSON object');
  else {
    if (!Number.isInteger(m.iter) || (m.iter as number) < 0) problems.push(`iter: ${JSON.stringify(m.iter)} is not an iteration count`);
    if (typeof m.file !== 'string') problems.push(`file: ${JSON.stringify(m.file)} is not a file name`);
    else if (!/^ckpt-\d+\.safetensors$/.test(m.file)) {
      problems.push(`file: '${m.file}' is not a checkpoint of this folder (ckpt-N.safetensors; paths elsewhere are refused)`);
    }
    if (typeof m.scalars !== 'object' || m.scalars === null) problems.push('scalars: missing');
  }
  if (problems.length)
    throw new Error(`${metaFile}: bad checkpoint index: ${problems.join('; ')}; delete it (or the run folder) to start over`);
}

/** Restores modules and parts from the latest checkpoint in `dir`; undefined when there is none. */
export function loadCheckpoint<J>(
  dir: string,
  modules: Record<string, Module>,
  parts: Record<string, Checkpointable>,
): CheckpointMeta<J> | undefined {
  const metaFile = path.join(dir, META);
  if (!fs.existsSync(metaFile)) return undefined;
  let meta: CheckpointMeta<J>;
  try {
    meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as CheckpointMeta<J>;
  } catch (err) {
    throw new Error(`${metaFile}: unreadable checkpoint index (${(err as Error).message}); delete the run folder to start over`);
  }
  checkIndex(metaFile, meta);
  const file = path.join(dir, meta.file);
  if (!fs.existsSync(file)) {
    throw new Error(
      `${metaFile}: names ${meta.file}, which is missing from the run folder; delete ${META} (or the run folder) to start over`,
    );
  }
  const st = readSafetensors(file);
  const get = (name: string): StTensor => {
    const t = st.tensors.get(name);
    if (!t) throw new Error(`${file}: checkpoint has no tensor '${name}'; was it written by a different config?`);
    return t;
  };
  for (const [prefix, m] of Object.entries(modules)) {
    for (const e of m.torchEntries()) {
      const t = get(`${prefix}.${e.name}`);
      if (e.dtype === 'I64' && !(t.data instanceof BigInt64Array)) {
        throw new Error(`${file}: tensor '${prefix}.${e.name}' is a counter and must be I64, not ${t.dtype}`);
      }
      e.write(e.dtype === 'I64' ? (t.data as BigInt64Array) : toFloat32(t, e.name, file));
    }
  }
  for (const [prefix, part] of Object.entries(parts)) {
    const tensors = new Map<string, Float32Array | Int32Array>();
    for (const [name, t] of st.tensors) {
      if (!name.startsWith(`${prefix}.`)) continue;
      tensors.set(name.slice(prefix.length + 1), t.dtype === 'I32' ? (t.data as Int32Array) : toFloat32(t, name, file));
    }
    part.loadFromCheckpoint({ tensors, scalars: meta.scalars[prefix] ?? {} });
  }
  return meta;
}

/**
 * Checkpoints of a pre-training run, so a killed run resumes where it stopped. A checkpoint is
 * `ckpt-<iter>.safetensors` (every module's tensors under a prefix, optimiser state, kNN monitor
 * queue) plus `checkpoint.json` (iteration, curves, counters, the tensor file's SHA-256), which
 * names the tensor file and is written last, atomically: a crash at any moment leaves the previous
 * checkpoint intact. The two latest are kept (the previous index as `checkpoint.prev.json`): a
 * latest one that fails its checksum, holds a non-finite value or cannot be read is passed over
 * for the previous, with a message; only when both fail is it an error.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Module } from '../engine/module.ts';
import { readSafetensors, toFloat32, writeSafetensors, type StTensor } from '../engine/safetensors.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { CHECKPOINT_INDEX as META, CHECKPOINT_PREV_INDEX as PREV, type CheckpointMeta, type Checkpointable } from '../core/checkpoint.ts';

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

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
  // the checksum of the bytes on disk (read back): a later change to them is found on load
  const meta: CheckpointMeta<J> = { iter, file, sha256: sha256(path.join(dir, file)), scalars, json };
  const latest = path.join(dir, META);
  let keep = file;
  if (fs.existsSync(latest)) {
    const prev = readIndex(latest);
    // the latest becomes the previous (a crash before the new index is written leaves it to resume from)
    if (prev.ok && prev.meta.file !== file) {
      fs.renameSync(latest, path.join(dir, PREV));
      keep = prev.meta.file;
    }
  }
  writeFileAtomic(latest, JSON.stringify(meta));
  for (const f of fs.readdirSync(dir)) {
    if (/^ckpt-\d+\.safetensors$/.test(f) && f !== file && f !== keep) fs.rmSync(path.join(dir, f));
  }
}

type IndexRead<J> = { ok: true; meta: CheckpointMeta<J> } | { ok: false; problem: string };

function readIndex<J>(metaFile: string): IndexRead<J> {
  let meta: CheckpointMeta<J>;
  try {
    meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as CheckpointMeta<J>;
  } catch (err) {
    return { ok: false, problem: `${metaFile}: unreadable checkpoint index (${(err as Error).message})` };
  }
  try {
    checkIndex(metaFile, meta);
  } catch (err) {
    return { ok: false, problem: (err as Error).message };
  }
  return { ok: true, meta };
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
  if (problems.length) throw new Error(`${metaFile}: bad checkpoint index: ${problems.join('; ')}`);
}

/**
 * Restores modules and parts from the latest sound checkpoint in `dir` (the latest, or else the
 * previous one, saying why through `warn`); undefined when there is none.
 */
export function loadCheckpoint<J>(
  dir: string,
  modules: Record<string, Module>,
  parts: Record<string, Checkpointable>,
  warn: (message: string) => void = (m) => console.error(m),
): CheckpointMeta<J> | undefined {
  const metaFile = path.join(dir, META);
  const prevFile = path.join(dir, PREV);
  if (!fs.existsSync(metaFile) && !fs.existsSync(prevFile)) return undefined;
  const latest = fs.existsSync(metaFile) ? openCheckpoint<J>(dir, metaFile) : undefined;
  if (latest?.ok) return restore(latest, modules, parts);
  const prev = fs.existsSync(prevFile) ? openCheckpoint<J>(dir, prevFile) : undefined;
  if (prev?.ok) {
    warn(
      latest
        ? `${latest.problem}; resuming from the previous checkpoint (${prevFile}, iteration ${prev.meta.iter}) instead`
        : `${metaFile}: missing; resuming from the previous checkpoint (${prevFile}, iteration ${prev.meta.iter})`,
    );
    return restore(prev, modules, parts);
  }
  const problems = [latest?.problem, prev?.problem].filter((p) => p !== undefined);
  throw new Error(`${problems.join('; and ')}; delete ${META} (or the run folder) to start over`);
}

type Opened<J> =
  | { ok: true; meta: CheckpointMeta<J>; file: string; st: ReturnType<typeof readSafetensors> }
  | { ok: false; problem: string };

/** An index and its tensor file, checked: the index's fields, the file's presence, checksum and finite values. */
function openCheckpoint<J>(dir: string, metaFile: string): Opened<J> {
  const idx = readIndex<J>(metaFile);
  if (!idx.ok) return idx;
  const meta = idx.meta;
  const file = path.join(dir, meta.file);
  if (!fs.existsSync(file)) return { ok: false, problem: `${metaFile}: names ${meta.file}, which is missing from the run folder` };
  if (meta.sha256 !== undefined && sha256(file) !== meta.sha256) {
    return { ok: false, problem: `${file}: its bytes changed since they were written (SHA-256 differs from ${path.basename(metaFile)}'s)` };
  }
  let st: ReturnType<typeof readSafetensors>;
  try {
    st = readSafetensors(file);
  } catch (err) {
    return { ok: false, problem: (err as Error).message };
  }
  for (const [name, t] of st.tensors) {
    if (t.dtype === 'I32' || t.dtype === 'I64') continue;
    const v = toFloat32(t, name, file);
    const i = v.findIndex((x) => !Number.isFinite(x));
    if (i >= 0) return { ok: false, problem: `${file}: tensor '${name}' holds a non-finite value (${v[i]} at ${i})` };
  }
  return { ok: true, meta, file, st };
}

function restore<J>(
  o: Extract<Opened<J>, { ok: true }>,
  modules: Record<string, Module>,
  parts: Record<string, Checkpointable>,
): CheckpointMeta<J> {
  const { meta, file, st } = o;
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

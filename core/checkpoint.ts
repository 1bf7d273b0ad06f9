/**
 * The checkpoint contract: what a part of a run (optimiser state, monitor queue) gives to a
 * checkpoint and takes back on resume. Writing and reading the files is runner/checkpoint.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
export interface TensorState {
  /** Named float tensors (flattened) and scalars. */
  tensors: Map<string, Float32Array | Int32Array>;
  scalars: Record<string, number>;
}

export interface Checkpointable {
  /** A copy of the state (read back asynchronously). */
  stateForCheckpoint(): Promise<TensorState>;
  loadFromCheckpoint(s: TensorState): void;
}

export interface CheckpointMeta<J> {
  iter: number;
  file: string;
  /** SHA-256 of the tensor file as written (absent in checkpoints written before checksums). */
  sha256?: string;
  scalars: Record<string, Record<string, number>>;
  json: J;
}

/** A run folder's checkpoint index files, newest first (runner/checkpoint.ts writes and rotates them). */
export const CHECKPOINT_INDEX = 'checkpoint.json';
export const CHECKPOINT_PREV_INDEX = 'checkpoint.prev.json';

/**
 * A glance at a run folder's checkpoint without loading it: the newest index that parses (the
 * latest, else the previous one), or, when an index exists but none parses, the first such file
 * with `unreadable`; undefined when there is none. Tensors and checksums are not checked here
 * (loading does that); this is for saying where a run stands.
 */
export function peekCheckpointIndex<J = unknown>(
  runDir: string,
): { file: string; meta: CheckpointMeta<J> } | { file: string; unreadable: true } | undefined {
  let unreadable: string | undefined;
  for (const name of [CHECKPOINT_INDEX, CHECKPOINT_PREV_INDEX]) {
    const file = path.join(runDir, name);
    if (!fs.existsSync(file)) continue;
    try {
      const meta = JSON.parse(fs.readFileSync(file, 'utf8')) as CheckpointMeta<J>;
      if (meta && typeof meta === 'object' && Number.isInteger(meta.iter)) return { file, meta };
    } catch {
      // try the previous one
    }
    unreadable ??= file;
  }
  return unreadable ? { file: unreadable, unreadable: true } : undefined;
}

/**
 * The checkpoint contract: what a part of a run (optimiser state, monitor queue) gives to a
 * checkpoint and takes back on resume. Writing and reading the files is runner/checkpoint.ts.
 */
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

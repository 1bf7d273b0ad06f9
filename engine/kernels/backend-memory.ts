/**
 * Direct access to a tfjs backend's tensor memory for native kernels: a Float32Array over a
 * tensor's data (the wasm heap, or the cpu backend's own typed array), and fresh outputs.
 */
import type { tf } from '../tf.ts';

type TensorInfo = tf.TensorInfo;

export interface BackendMemory {
  /** A Float32Array over the tensor's data, valid until the next allocation. */
  view(t: TensorInfo): Float32Array;
  /** A fresh float32 output. */
  alloc(shape: number[]): TensorInfo;
}

export function memoryOf(backendName: string, backend: unknown): BackendMemory {
  if (backendName === 'wasm') {
    const b = backend as { makeOutput(shape: number[], dtype: string): TensorInfo; typedArrayFromHeap(t: TensorInfo): Float32Array };
    return { view: (t) => b.typedArrayFromHeap(t), alloc: (shape) => b.makeOutput(shape, 'float32') };
  }
  const b = backend as {
    data: { get(id: unknown): { values: Float32Array } };
    makeTensorInfo(shape: number[], dtype: string, values: Float32Array): TensorInfo;
  };
  return {
    view: (t) => b.data.get(t.dataId).values,
    alloc: (shape) => b.makeTensorInfo(shape, 'float32', new Float32Array(shape.reduce((s, d) => s * d, 1))),
  };
}

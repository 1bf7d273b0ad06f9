/**
 * Identity for the wasm backend without a copy. tfjs clones every tensor a kernel saves for its
 * backward pass through the Identity kernel, and the stock wasm kernel copies the data: every
 * saved activation then exists twice until backward ends. tfjs tensors are immutable (a Variable's
 * `assign` swaps its buffer, no kernel writes into an input), so the clone can share the buffer
 * under the backend's reference count, as the wasm Reshape kernel and the cpu backend's Identity do.
 */
import { tf } from '../tf.ts';

export function installSharedIdentity(): { kernels: string[]; restore(): void } {
  const stock = tf.getKernel('Identity', 'wasm');
  if (!stock) return { kernels: [], restore() {} };
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    ...stock,
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      if (x.dtype === 'string') return stock.kernelFunc(args);
      (args.backend as unknown as { incRef(id: unknown): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
  return {
    kernels: ['Identity'],
    restore() {
      tf.unregisterKernel('Identity', 'wasm');
      tf.registerKernel(stock);
    },
  };
}

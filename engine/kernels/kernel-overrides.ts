/**
 * Replacing a backend's registered kernels and undoing it: `replace(name, make)` registers
 * `make(previous)` over the kernel registered now (skipped when there is none), so a replacement
 * can hand the cases it does not serve to the kernel it replaced; `restore()` re-registers every
 * replaced kernel as it was.
 */
import { tf } from '../tf.ts';

export interface KernelOverrides {
  replace(name: string, make: (previous: tf.KernelFunc) => tf.KernelFunc): void;
  /** Names replaced so far. */
  kernels(): string[];
  restore(): void;
}

export function kernelOverrides(backendName: string): KernelOverrides {
  const previous = new Map<string, tf.KernelConfig>();
  return {
    replace(name, make) {
      const cfg = tf.getKernel(name, backendName);
      if (!cfg) return;
      previous.set(name, cfg);
      tf.unregisterKernel(name, backendName);
      tf.registerKernel({ ...cfg, kernelFunc: make(cfg.kernelFunc) });
    },
    kernels: () => [...previous.keys()],
    restore() {
      for (const [name, cfg] of previous) {
        tf.unregisterKernel(name, backendName);
        tf.registerKernel(cfg);
      }
    },
  };
}

/** A kernel written against its inputs, attributes and backend (what tfjs passes, unpacked). */
export type OwnKernelFunc = (
  inputs: Record<string, tf.TensorInfo>,
  attrs: Record<string, unknown>,
  backend: unknown,
) => tf.TensorInfo | tf.TensorInfo[];

/**
 * Registers sslbench's own kernels (custom ops' names, e.g. SslLinearFwd) on a backend, each
 * replacing an earlier registration of the same name (a backend initialised again). The native
 * kernel files (native-linear, native-ops, native-prenorm) all register through this.
 */
export function ownKernelRegistrar<K extends string>(backendName: string): (kernelName: K, kernelFunc: OwnKernelFunc) => void {
  return (kernelName, kernelFunc) => {
    if (tf.getKernel(kernelName, backendName)) tf.unregisterKernel(kernelName, backendName);
    tf.registerKernel({
      kernelName,
      backendName,
      kernelFunc: (args) => kernelFunc(args.inputs as Record<string, tf.TensorInfo>, args.attrs as Record<string, unknown>, args.backend),
    });
  };
}

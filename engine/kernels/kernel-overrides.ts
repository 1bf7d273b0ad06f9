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

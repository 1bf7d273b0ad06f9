/**
 * Small synthetic stand-ins for the transfer data sets (CIFAR-10/100, Flowers-102, Pets, a plugin's),
 * for the CPU presets when no real copy is given (`--data-root`). Each is the embedded procedural
 * set (data/synthetic.ts) with the seed and noise level its descriptor gives (`transfer.standin`),
 * and as many classes as the real set up to the generator's 10; they exercise the fine-tuning
 * protocol end to end, not the real task.
 */
import type { ImageSet } from './image-set.ts';
import type { TransferSpec } from './sources.ts';
import { SYNTHETIC_CLASS_NAMES, makeSynthetic } from './synthetic.ts';

export function transferStandin(
  dataset: string,
  standin: TransferSpec['standin'],
  trainCount: number,
  testCount: number,
): { train: ImageSet; test: ImageSet } {
  const s = standin;
  if (!(Number.isInteger(s.classes) && s.classes >= 2))
    throw new Error(`dataset '${dataset}': transfer.standin.classes must be an integer >= 2, got ${s.classes}`);
  const numClasses = Math.min(s.classes, SYNTHETIC_CLASS_NAMES.length);
  return {
    train: makeSynthetic({ count: trainCount, numClasses, seed: s.seed, noise: s.noise, name: `${dataset}-standin-train` }),
    test: makeSynthetic({ count: testCount, numClasses, seed: s.seed + 1_000_003, noise: s.noise, name: `${dataset}-standin-test` }),
  };
}

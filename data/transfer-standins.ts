/**
 * Small synthetic stand-ins for the transfer data sets (CIFAR-10/100, Flowers-102, Pets), for the
 * CPU presets when no real copy is given (`--data-root`). Each is the embedded procedural set
 * (data/synthetic.ts) with its own seed and noise level, and as many classes as the real set up to
 * the generator's 10; they exercise the fine-tuning protocol end to end, not the real task.
 */
import type { ImageSet } from './image-set.ts';
import { SYNTHETIC_CLASS_NAMES, makeSynthetic } from './synthetic.ts';

const STANDINS: Record<string, { classes: number; seed: number; noise: number }> = {
  cifar10: { classes: 10, seed: 101, noise: 0.08 },
  cifar100: { classes: 100, seed: 202, noise: 0.16 },
  flowers102: { classes: 102, seed: 303, noise: 0.12 },
  pets: { classes: 37, seed: 404, noise: 0.2 },
};

export function transferStandin(dataset: string, trainCount: number, testCount: number): { train: ImageSet; test: ImageSet } {
  const s = STANDINS[dataset];
  if (!s) throw new Error(`no synthetic stand-in for data set '${dataset}'; known: ${Object.keys(STANDINS).join(', ')}`);
  const numClasses = Math.min(s.classes, SYNTHETIC_CLASS_NAMES.length);
  return {
    train: makeSynthetic({ count: trainCount, numClasses, seed: s.seed, noise: s.noise, name: `${dataset}-standin-train` }),
    test: makeSynthetic({ count: testCount, numClasses, seed: s.seed + 1_000_003, noise: s.noise, name: `${dataset}-standin-test` }),
  };
}

/** The smallest complete pre-training config the tests run: smoke preset, 8 iterations per epoch, 2 epochs. */
import { presetConfig } from '../../recipes/presets.ts';
import { builtinRegistry } from '../../container/container.ts';
import { deepMerge, type PretrainConfig } from '../../core/config.ts';

export function smallPretrainConfig(over: unknown = {}): PretrainConfig {
  return deepMerge(
    deepMerge(presetConfig('smoke', builtinRegistry().frameworks), {
      data: { trainCount: 128, testCount: 64 },
      optimizer: { batch: 16, epochs: 2, warmupEpochs: 1 },
      monitor: { every: 4, queries: 64 },
      checkpointEvery: 4,
    }),
    over,
  );
}

/**
 * Every framework x backbone pair of Table 4, built through the container with its recipe's
 * framework settings and optimiser (LARS for R-50, AdamW for ViT): training steps on the wasm and
 * cpu backends give a finite loss, move the weights, and leak no tensor.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { Registry } from '../container/container.ts';
import { TrainStep } from '../runner/train-step.ts';
import { useBackend } from './helpers/backend.ts';
import { recipePair } from './helpers/frameworks.ts';
import { twoViewSet } from '../frameworks/framework.ts';

const registry = new Registry();
const PAIRS: [string, string, string][] = [];
for (const fw of ['mocov3', 'simclr', 'byol', 'swav']) {
  PAIRS.push([fw, 'vit-micro/4', `${fw}-vit`], [fw, 'resnet-micro', `${fw}-r50`]);
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`framework x backbone training steps on ${backend}`, () => {
    for (const [fwName, backbone, recipeName] of PAIRS) {
      it(`${fwName} on ${backbone} (${recipeName} settings)`, async () => {
        await useBackend(backend, false);
        // the pure-JS cpu backend convolves slowly: smaller ResNet inputs there
        const size = backend === 'cpu' && backbone.startsWith('resnet') ? 8 : 16;
        const { fw, opt, optimizerName } = recipePair(registry, fwName, backbone, size);
        const step = new TrainStep(fw, opt);
        const v1 = tf.randomNormal([6, size, size, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
        const v2 = tf.randomNormal([6, size, size, 3], 0, 1, 'float32', 6) as tf.Tensor4D;
        const w = fw.backbone.trainableParams()[0].variable;
        const w0 = w.dataSync().slice();
        const counts: number[] = [];
        for (let iter = 0; iter < 3; iter++) {
          const { loss, features } = await step.run(
            twoViewSet(v1, v2),
            { iter, totalIters: 10, itersPerEpoch: 5 },
            optimizerName === 'lars' ? 0.5 : 1e-3,
          );
          assert.ok(Number.isFinite(loss), `finite loss at step ${iter}: ${loss}`);
          assert.deepEqual(features.shape, [6, fw.backbone.outDim]);
          features.dispose();
          counts.push(tf.memory().numTensors);
        }
        assert.equal(counts[2], counts[1], `no tensor leak: ${counts.join(', ')}`);
        assert.ok(
          w.dataSync().some((x, i) => x !== w0[i]),
          'the backbone trained',
        );
        tf.dispose([v1, v2]);
        opt.dispose();
        fw.dispose();
      });
    }
  });
}

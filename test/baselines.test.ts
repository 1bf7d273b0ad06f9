/**
 * The floors of every pre-training table (runner/baselines.ts): raw pixels under the cells' probe
 * and kNN, and the cell's backbone at its random init; computed once per data configuration and
 * cached in the run store.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Rng } from '../engine/rng.ts';
import type { ImageSet } from '../data/image-set.ts';
import { RawPixels } from '../evaluators/raw-pixels.ts';
import { linearProbe } from '../evaluators/linear-probe.ts';
import { headlineMetric, knnEvaluator } from '../evaluators/index.ts';
import { builtinRegistry } from '../container/container.ts';
import { presetConfig } from '../recipes/presets.ts';
import { resolveDataset } from '../runner/datasets.ts';
import { baselineFile, baselineKey, baselineProbe, suiteBaselines } from '../runner/baselines.ts';
import { useBackend } from './helpers/backend.ts';

/**
 * 4 classes of 6 x 6 images, each class a bright 3 x 3 quadrant on a noisy dark background: the
 * raw pixels are linearly separable (the quadrant's mean), a colour average is not.
 */
function quadrants(perClass: number, seed: number): ImageSet {
  const S = 6,
    rng = new Rng(seed),
    count = 4 * perClass;
  const images = new Float32Array(count * S * S * 3);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const y = i % 4;
    labels[i] = y;
    for (let r = 0; r < S; r++)
      for (let c = 0; c < S; c++) {
        const inside = Math.floor(r / 3) === Math.floor(y / 2) && Math.floor(c / 3) === y % 2;
        for (let ch = 0; ch < 3; ch++) images[((i * S + r) * S + c) * 3 + ch] = (inside ? 0.7 : 0.1) + rng.uniform(0, 0.2);
      }
  }
  return { name: `quadrants-${seed}`, images, labels, count, height: S, width: S, channels: 3, numClasses: 4 };
}

describe('baselines', () => {
  before(async () => useBackend('wasm'));

  it('raw pixels: the evaluation view flattened; the probe and kNN reach 100 % where the pixels are separable', async () => {
    const train = quadrants(10, 1),
      test = quadrants(5, 2);
    const px = new RawPixels(6);
    assert.equal(px.outDim, 108);
    const r = await linearProbe(px, train, test, {
      viewSize: 6,
      cropFraction: 1,
      batch: 8,
      epochs: 5,
      baseLrs: [0.3, 1],
      augment: false,
      cacheFeatures: true,
      valFraction: 0.2,
    });
    assert.equal(r.top1, 1, `probe top-1 ${r.top1}`);
    assert.equal(r.chosenOn, 'validation');
    const knn = await headlineMetric(
      knnEvaluator,
      { backbone: px, train, test, view: { viewSize: 6, cropFraction: 1 }, seed: 0 },
      { k: 5 },
    );
    assert.equal(knn, 1);
    px.dispose();
  });

  it('computed once per data configuration and backbone, cached in the run store, with the cells each applies to', async () => {
    const registry = builtinRegistry();
    const base = presetConfig('smoke', registry.frameworks);
    const config = { ...base, data: resolveDataset(base.data, registry.datasets.all()) };
    const other = { ...config, seed: 1 };
    const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-baselines-'));
    const cells = [
      { id: 'a', config },
      { id: 'b', config },
      { id: 'c', config: other },
    ];
    const logged: string[] = [];
    const first = await suiteBaselines(cells, { preset: 'smoke', runsDir, registry, log: (l) => logged.push(l) });
    // two seeds: two raw-pixel baselines and two random inits, each for its cells
    assert.deepEqual(
      first.map((b) => [b.kind, b.cells]),
      [
        ['raw-pixels', ['a', 'b']],
        ['random-init', ['a', 'b']],
        ['raw-pixels', ['c']],
        ['random-init', ['c']],
      ],
    );
    assert.equal(logged.length, 4);
    for (const b of first) {
      assert.ok(b.probe.top1 > 0 && b.probe.top1 <= 1 && b.knn > 0 && b.knn <= 1, JSON.stringify(b));
      assert.equal(b.probe.chosenOn, 'validation');
      assert.ok(fs.existsSync(baselineFile(runsDir, 'smoke', b.kind, b.key)));
    }
    assert.equal(first[0].backbone, `none (${16 * 16 * 3} pixel values)`);
    assert.equal(first[1].backbone, config.backbone.name);
    // the same key for the same inputs, another for other data
    const probe = baselineProbe('raw-pixels', config, 'smoke');
    assert.equal(baselineKey('raw-pixels', config, probe), first[0].key);
    assert.notEqual(baselineKey('raw-pixels', { ...config, data: { ...config.data, trainCount: 128 } }, probe), first[0].key);
    // a stored table's cells probed by main_lincls's rule: their floors by the same rule (another key)
    const old = baselineProbe('raw-pixels', config, 'smoke', {
      ...probe,
      valFraction: undefined as unknown as number,
      extendSweep: undefined as unknown as number,
    });
    assert.deepEqual([old.valFraction, old.extendSweep, old.baseLrs], [0, 0, probe.baseLrs]);
    assert.notEqual(baselineKey('raw-pixels', config, old), first[0].key);
    // the second time they come from the cache: nothing computed, the same numbers
    logged.length = 0;
    const again = await suiteBaselines(cells, { preset: 'smoke', runsDir, registry, log: (l) => logged.push(l) });
    assert.deepEqual(logged, []);
    assert.deepEqual(again, first);
  });
});

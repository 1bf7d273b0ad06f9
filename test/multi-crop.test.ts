/**
 * Multi-crop (SwAV's local crops, off in the paper's suites): the augmentation yields the two global
 * views unchanged plus `count` local crops; a config asks for them with `augment.multiCrop` (a
 * `--set` away); only a framework that takes local crops accepts them; a SwAV cell trains with them.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf } from '../engine/tf.ts';
import { Rng } from '../engine/rng.ts';
import { augmentViews, LOCAL_CROP_SCALE, localCropSize, sampleViewParams, SWAV_LOCAL_VIEW, twoViews } from '../augment/policy.ts';
import { loadSuite, parseSuite } from '../kinds/index.ts';
import { resolveCell } from '../runner/pretrain-suite.ts';
import { builtinRegistry } from '../container/container.ts';
import { localCrops, pretrain } from '../runner/pretrain.ts';
import { useBackend } from './helpers/backend.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-multicrop-'));
/** The smoke suite with a SwAV cell beside its MoCo v3 one. */
const SUITE = (() => {
  const smoke = loadSuite('smoke');
  return parseSuite({ ...smoke, cells: [...smoke.cells, { id: 'SwAV', config: { framework: { name: 'swav' } } }] }, 'multi-crop suite');
})();

describe('multi-crop', () => {
  before(() => useBackend('cpu'));

  it("the two global views are twoViews' own (same draws); local crops follow at their side", () => {
    const x = tf.randomUniform([3, 24, 24, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const opts = { outSize: 16, cropMin: 0.08 };
    const [a1, a2] = twoViews(x, new Rng(7), opts);
    const v = augmentViews(x, new Rng(7), opts, { count: 3, size: 8, scale: [0.05, 0.14] });
    assert.deepEqual(v.global[0].dataSync(), a1.dataSync());
    assert.deepEqual(v.global[1].dataSync(), a2.dataSync());
    assert.equal(v.local.length, 3);
    for (const l of v.local) assert.deepEqual(l.shape, [3, 8, 8, 3]);
    assert.notDeepEqual(v.local[0].dataSync(), v.local[1].dataSync(), 'each local crop its own draws');
    tf.dispose([x, a1, a2, ...v.global, ...v.local]);
  });

  it("local crops' boxes cover (0.05, 0.14) of the image, SwAV's local scale", () => {
    const params = sampleViewParams(new Rng(3), 400, 96, 96, SWAV_LOCAL_VIEW, { outSize: 32, cropMin: 0.05, cropMax: 0.14 });
    const areas = params.filter((p) => !p.crop.fallback).map((p) => (p.crop.height * p.crop.width) / (96 * 96));
    assert.ok(areas.length > 300);
    // integer boxes round the drawn area: a little slack at both ends
    assert.ok(Math.min(...areas) >= 0.04 && Math.max(...areas) <= 0.16, `${Math.min(...areas)} .. ${Math.max(...areas)}`);
    assert.throws(
      () => sampleViewParams(new Rng(3), 1, 8, 8, SWAV_LOCAL_VIEW, { outSize: 8, cropMin: 0.5, cropMax: 0.2 }),
      /cropMin 0\.5, cropMax 0\.2\) is not a range/,
    );
  });

  it('a config asks for it with augment.multiCrop (defaults: 96/224 of the view, scale (0.05, 0.14)); only SwAV takes it', () => {
    const o = { preset: 'smoke', runsDir: tmp, registry: builtinRegistry() };
    const at = (cell: number, overrides: object) => resolveCell(SUITE, SUITE.cells[cell], { ...o, overrides });
    const rc = at(1, { augment: { multiCrop: { count: 2 } } });
    assert.deepEqual(localCrops(rc.config), { count: 2, size: localCropSize(rc.config.data.viewSize), scale: LOCAL_CROP_SCALE });
    assert.notEqual(rc.hash, at(1, {}).hash, 'its own run');
    assert.equal(localCrops(at(1, {}).config), undefined);
    assert.throws(
      () => at(0, { augment: { multiCrop: { count: 2 } } }),
      /augment\.multiCrop: framework mocov3 takes the two global views only/,
    );
    assert.throws(() => at(1, { augment: { multiCrop: { count: 0 } } }), /augment\.multiCrop\.count: must be >= 1/);
  });

  it('a SwAV cell trains with local crops: finite losses, and its run differs from the two-view one', async () => {
    const base = { data: { trainCount: 64, testCount: 32 }, optimizer: { batch: 16, epochs: 1, warmupEpochs: 0 } };
    const run = async (overrides: object, dir: string) => {
      const rc = resolveCell(SUITE, SUITE.cells[1], { preset: 'smoke', runsDir: tmp, registry: builtinRegistry(), overrides });
      return pretrain(rc.config, { runDir: path.join(tmp, dir), registry: builtinRegistry() });
    };
    const multi = await run({ ...base, augment: { multiCrop: { count: 2, size: 8 } } }, 'multi');
    const two = await run(base, 'two');
    assert.ok(
      multi.curves.loss.every((p) => Number.isFinite(p.value)),
      JSON.stringify(multi.curves.loss),
    );
    assert.notEqual(multi.curves.loss[0].value, two.curves.loss[0].value);
  });
});

/** `bench run --dry-run`'s time estimate (runner/time-estimate.ts): iterations, and the measured rates of finished cells. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { estimateTraining, estimateText } from '../runner/time-estimate.ts';
import type { PretrainConfig } from '../core/config.ts';
import type { PretrainResult } from '../core/results.ts';

const config = (over: { backbone?: string; batch?: number; epochs?: number; every?: number; trainCount?: number } = {}) =>
  ({
    seed: 0,
    data: { dataset: 'fashion-mnist', viewSize: 28, trainCount: over.trainCount ?? 6000 },
    backbone: { name: over.backbone ?? 'vit-tiny/7' },
    framework: { name: 'mocov3' },
    optimizer: { batch: over.batch ?? 64, epochs: over.epochs ?? 8 },
    monitor: { every: over.every ?? 25 },
  }) as unknown as PretrainConfig;

/** A finished cell: 744 iterations at batch 64, 210 s of wall time of which 19 s kNN monitor over 30 evaluations. */
const finished = {
  config: config(),
  iterations: 744,
  wallSeconds: 210,
  phaseSeconds: { 'knn-monitor': 19.5 },
  curves: { knn: Array.from({ length: 30 }, (_, i) => ({ iter: i * 25, value: 0.5 })) },
  flags: { diverged: false },
} as unknown as PretrainResult;

describe('time estimate', () => {
  it('iterations x batch at the measured seconds per image, plus the monitor evaluations at their measured cost', () => {
    const e = estimateTraining(config({ epochs: 5, every: 10 }), [finished])!;
    assert.equal(e.iterations, 93 * 5, 'whole batches of 6,000 images at 64, 5 epochs');
    const perImage = (210 - 19.5) / (744 * 64);
    const perEval = 19.5 / 30;
    assert.ok(Math.abs(e.seconds! - (465 * 64 * perImage + Math.ceil(465 / 10) * perEval)) < 1e-9);
    assert.match(estimateText(e), /^~\d+ min \(465 iterations; rate of 1 finished cell\)$/);
  });
  it('no rate from another backbone; no estimate without a fixed training set size', () => {
    const e = estimateTraining(config({ backbone: 'vit-mini/7' }), [finished])!;
    assert.equal(e.seconds, undefined);
    assert.match(estimateText(e), /no estimate \(no finished cell of this backbone, framework and precision here\)/);
    const streamed = config();
    const { trainCount: _n, ...data } = streamed.data;
    assert.equal(estimateTraining({ ...streamed, data } as PretrainConfig, [finished]), undefined);
  });
});

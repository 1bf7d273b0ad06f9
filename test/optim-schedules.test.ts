import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cosineMomentum, scaledLr, warmupCosineLr } from '../optim/schedules.ts';

const near = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs expected ${b}`);

describe('optim schedules', () => {
  it('scaledLr is the linear scaling rule lr x batch / 256', () => {
    near(scaledLr(1.5e-4, 4096), 2.4e-3, 1e-15);
    near(scaledLr(0.1, 256), 0.1, 1e-15);
    near(scaledLr(3e-4, 1024, 512), 6e-4, 1e-15);
    assert.throws(() => scaledLr(1e-3, 0), /batch/);
    assert.throws(() => scaledLr(1e-3, 64, 0), /divisor/);
    assert.throws(() => scaledLr(-1, 64), /baseLr/);
  });

  it('warmupCosineLr: 0 at the start, linear warmup, peak at the end of warmup, half-cosine to 0', () => {
    const o = { baseLr: 2.4e-3, warmupEpochs: 40, epochs: 300 };
    near(warmupCosineLr(0, o), 0);
    near(warmupCosineLr(10, o), 0.6e-3, 1e-15);
    near(warmupCosineLr(39.5, o), 2.4e-3 * (39.5 / 40), 1e-15);
    near(warmupCosineLr(40, o), 2.4e-3, 1e-15);
    near(warmupCosineLr(170, o), 1.2e-3, 1e-15); // midpoint of the cosine
    near(warmupCosineLr(300, o), 0, 1e-15);
    near(warmupCosineLr(40 + 260 / 3, o), 2.4e-3 * 0.75, 1e-15); // cos(pi/3) = 1/2
    // Per-iteration: fractional epochs, monotone after warmup.
    let prev = Infinity;
    for (let it = 40 * 10; it <= 300 * 10; it += 37) {
      const lr = warmupCosineLr(it / 10, o);
      assert.ok(lr <= prev, `not decreasing at iter ${it}`);
      prev = lr;
    }
  });

  it('warmupCosineLr edge cases and validation', () => {
    near(warmupCosineLr(0, { baseLr: 1, warmupEpochs: 0, epochs: 10 }), 1);
    near(warmupCosineLr(5, { baseLr: 1, warmupEpochs: 0, epochs: 10 }), 0.5);
    near(warmupCosineLr(5, { baseLr: 1, warmupEpochs: 10, epochs: 10 }), 0.5);
    near(warmupCosineLr(10, { baseLr: 1, warmupEpochs: 10, epochs: 10 }), 1);
    assert.throws(
      () => warmupCosineLr(1, { baseLr: 1, warmupEpochs: 11, epochs: 10 }),
      /warmupEpochs \(11\) must not exceed epochs \(10\)/,
    );
    assert.throws(() => warmupCosineLr(-0.1, { baseLr: 1, warmupEpochs: 1, epochs: 10 }), /epoch/);
    assert.throws(() => warmupCosineLr(10.5, { baseLr: 1, warmupEpochs: 1, epochs: 10 }), /epoch/);
    assert.throws(() => warmupCosineLr(1, { baseLr: 1, warmupEpochs: 1, epochs: 0 }), /epochs/);
    assert.throws(() => warmupCosineLr(NaN, { baseLr: 1, warmupEpochs: 1, epochs: 10 }), /epoch/);
  });

  it('cosineMomentum goes from m0 to 1 along a half-cosine', () => {
    near(cosineMomentum(0, 1000, 0.99), 0.99);
    near(cosineMomentum(1000, 1000, 0.99), 1);
    near(cosineMomentum(500, 1000, 0.99), 0.995);
    near(cosineMomentum(250, 1000, 0.9), 1 - 0.5 * (1 + Math.SQRT1_2) * 0.1);
    assert.throws(() => cosineMomentum(1001, 1000, 0.99), /iter/);
    assert.throws(() => cosineMomentum(0, 0, 0.99), /totalIters/);
    assert.throws(() => cosineMomentum(0, 10, 1.5), /m0/);
  });
});

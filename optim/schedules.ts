/**
 * Learning-rate and momentum schedules of the MoCo v3 recipe (main_moco.py: `args.lr * batch / 256`,
 * `adjust_learning_rate`, `adjust_moco_momentum`):
 * the linear scaling rule, per-iteration linear warmup + half-cosine decay, and the cosine
 * schedule of the momentum-encoder coefficient. Pure functions of JS numbers.
 */

function check(ok: boolean, msg: string): void {
  if (!ok) throw new Error(msg);
}

const finite = (x: number) => typeof x === 'number' && Number.isFinite(x);

/** Linear scaling rule: lr = baseLr x batch / divisor (divisor 256 for pre-training). */
export function scaledLr(baseLr: number, batch: number, divisor = 256): number {
  check(finite(baseLr) && baseLr >= 0, `scaledLr: baseLr must be a finite number >= 0, got ${baseLr}`);
  check(Number.isInteger(batch) && batch > 0, `scaledLr: batch must be a positive integer, got ${batch}`);
  check(finite(divisor) && divisor > 0, `scaledLr: divisor must be a positive number, got ${divisor}`);
  return (baseLr * batch) / divisor;
}

export interface WarmupCosineOptions {
  /** Peak learning rate (already scaled by the batch size). */
  baseLr: number;
  warmupEpochs: number;
  epochs: number;
}

/**
 * Learning rate at a fractional epoch (per-iteration schedule: epoch = iter / itersPerEpoch):
 * `baseLr * epoch / warmupEpochs` while epoch < warmupEpochs, then the half-cosine
 * `baseLr * 0.5 * (1 + cos(pi * (epoch - warmupEpochs) / (epochs - warmupEpochs)))`, reaching 0 at
 * `epochs`. Epochs outside [0, epochs] are errors. When warmupEpochs === epochs the whole run is
 * warmup and the value at epoch === epochs is baseLr.
 */
export function warmupCosineLr(epoch: number, opts: WarmupCosineOptions): number {
  const { baseLr, warmupEpochs, epochs } = opts;
  check(finite(baseLr) && baseLr >= 0, `warmupCosineLr: baseLr must be a finite number >= 0, got ${baseLr}`);
  check(finite(epochs) && epochs > 0, `warmupCosineLr: epochs must be a positive number, got ${epochs}`);
  check(finite(warmupEpochs) && warmupEpochs >= 0, `warmupCosineLr: warmupEpochs must be a number >= 0, got ${warmupEpochs}`);
  check(warmupEpochs <= epochs, `warmupCosineLr: warmupEpochs (${warmupEpochs}) must not exceed epochs (${epochs})`);
  check(finite(epoch) && epoch >= 0 && epoch <= epochs, `warmupCosineLr: epoch must lie in [0, ${epochs}], got ${epoch}`);
  if (epoch < warmupEpochs) return (baseLr * epoch) / warmupEpochs;
  if (epochs === warmupEpochs) return baseLr;
  return baseLr * 0.5 * (1 + Math.cos((Math.PI * (epoch - warmupEpochs)) / (epochs - warmupEpochs)));
}

/**
 * Momentum-encoder coefficient, increased from m0 to 1 with a half-cosine over training:
 * `1 - 0.5 * (1 + cos(pi * iter / totalIters)) * (1 - m0)`.
 */
export function cosineMomentum(iter: number, totalIters: number, m0: number): number {
  check(finite(totalIters) && totalIters > 0, `cosineMomentum: totalIters must be a positive number, got ${totalIters}`);
  check(finite(iter) && iter >= 0 && iter <= totalIters, `cosineMomentum: iter must lie in [0, ${totalIters}], got ${iter}`);
  check(finite(m0) && m0 >= 0 && m0 <= 1, `cosineMomentum: m0 must lie in [0, 1], got ${m0}`);
  return 1 - 0.5 * (1 + Math.cos((Math.PI * iter) / totalIters)) * (1 - m0);
}

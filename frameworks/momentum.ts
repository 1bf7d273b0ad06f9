/**
 * The momentum (EMA) encoder update: p_k <- m p_k + (1 - m) p_q over every parameter (frozen
 * ones included, so the frozen patch projection stays an identical copy); BatchNorm running
 * statistics are buffers and are not averaged. Shared by MoCo v3 and BYOL, with the momentum schedule.
 */
import { tf } from '../engine/tf.ts';
import type { Module } from '../engine/module.ts';

/** Pairs the parameters of two modules built from the same config; throws if they differ. */
export function pairParams(query: Module, key: Module): [tf.Variable, tf.Variable][] {
  const q = query.parameters();
  const k = key.parameters();
  if (q.length !== k.length) throw new Error(`momentum encoder: ${k.length} parameters vs ${q.length} in the encoder`);
  return q.map((p, i) => {
    if (p.name !== k[i].name || p.size !== k[i].size)
      throw new Error(`momentum encoder: parameter ${i} is ${k[i].name}, expected ${p.name}`);
    return [p.variable, k[i].variable];
  });
}

export function copyParams(pairs: [tf.Variable, tf.Variable][]): void {
  for (const [q, k] of pairs) k.assign(q);
}

export function emaUpdate(pairs: [tf.Variable, tf.Variable][], m: number): void {
  tf.tidy(() => {
    for (const [q, k] of pairs) k.assign(tf.add(tf.mul(k, m), tf.mul(q, 1 - m)));
  });
}

/** 'cosine': m rises from m0 to 1 over training; 'constant': m stays m0. */
export type MomentumSchedule = 'cosine' | 'constant';

/**
 * The EMA coefficient at iteration `iter` of `totalIters`: m = 1 - 0.5 (1 + cos(pi t / T)) (1 - m0)
 * with the cosine schedule (MoCo v3's official code; BYOL's tau schedule, Grill et al. 2020, sec. 3.2).
 */
export function momentumAt(iter: number, totalIters: number, m0: number, schedule: MomentumSchedule = 'cosine'): number {
  if (schedule === 'constant') return m0;
  return 1 - 0.5 * (1 + Math.cos((Math.PI * iter) / totalIters)) * (1 - m0);
}

/**
 * The momentum teacher shared by MoCo v3 and BYOL: an online encoder, its EMA copy (starting equal
 * to it), and the schedule of m. `update` is the per-step EMA with m at that iteration.
 */
export class MomentumTeacher {
  private readonly pairs: [tf.Variable, tf.Variable][];
  /** The last m used (NaN before the first update). */
  m = Number.NaN;

  constructor(
    readonly online: Module,
    readonly target: Module,
    private readonly m0: number,
    private readonly schedule: MomentumSchedule,
  ) {
    this.pairs = pairParams(online, target);
    copyParams(this.pairs);
  }

  /** target <- m target + (1 - m) online, m at iteration `iter` of `totalIters`; returns m. */
  update(ctx: { iter: number; totalIters: number }): number {
    this.m = momentumAt(ctx.iter, ctx.totalIters, this.m0, this.schedule);
    emaUpdate(this.pairs, this.m);
    return this.m;
  }
}

/**
 * Per-layer gradient magnitudes every iteration, as the paper's Fig. 4 monitors them: the first
 * layer and the last layers of the backbone (plus a middle block), so that a gradient spike can be
 * seen to reach the first layer before the last ones.
 *
 * Layers, chosen from the backbone's param names:
 * - ViT: first = `patch_embed.proj.weight`; with the random (frozen) patch projection it has no
 *   gradient, so the first block's first weight matrix (`blocks.0.attn.qkv.weight`) stands in,
 *   and the label says so. Middle = the middle block's qkv; last = the last block's
 *   `attn.qkv.weight` and `mlp.fc2.weight`.
 * - ResNet: first = `conv1.weight`; middle = the last block of the middle stage's `conv3.weight`;
 *   last = the last block's `conv3.weight`.
 * - Anything else: the first and the last trainable weight of two or more dimensions.
 * Labels are `ROLE: NAME[ (note)]` with ROLE first / middle / last (instability.ts reads it).
 *
 * Cost: the norms come from the gradient tensors the training step already holds: one fused
 * reduction per layer (g . g as a 1 x n by n x 1 product, no temporary), one sqrt over the
 * stacked squares, and the caller reads them back together with the loss in a single readback.
 * Layers without a gradient in a step (not reached by the loss) are left out of that step.
 */
import { tf } from '../engine/tf.ts';
import type { Param } from '../engine/module.ts';
import type { SeriesPoint } from '../core/instability.ts';
import { median } from './instability.ts';

export type LayerRole = 'first' | 'middle' | 'last';

export interface MonitoredLayer {
  label: string;
  role: LayerRole;
  param: Param;
}

const mid = (n: number) => Math.floor((n - 1) / 2);

/** The layers to monitor, from a backbone's params (frozen ones included: they decide the stand-in). */
export function chooseMonitoredLayers(params: readonly Param[]): MonitoredLayer[] {
  const byName = new Map(params.map((p) => [p.name, p]));
  const trainable = (name: string) => {
    const p = byName.get(name);
    return p?.trainable && p.kind === 'param' ? p : undefined;
  };
  const out: MonitoredLayer[] = [];
  const add = (role: LayerRole, name: string, note = '') => {
    const p = trainable(name);
    if (p && !out.some((l) => l.param === p)) out.push({ label: `${role}: ${name}${note}`, role, param: p });
  };
  const indices = (re: RegExp) =>
    [
      ...new Set(
        params
          .map((p) => re.exec(p.name)?.[1])
          .filter((x) => x !== undefined)
          .map(Number),
      ),
    ].sort((a, b) => a - b);

  const blocks = indices(/^blocks\.(\d+)\./);
  const stages = indices(/^layer(\d+)\./);
  if (blocks.length) {
    if (trainable('patch_embed.proj.weight')) add('first', 'patch_embed.proj.weight');
    else add('first', `blocks.${blocks[0]}.attn.qkv.weight`, ' (patch projection frozen)');
    if (blocks.length >= 3) add('middle', `blocks.${blocks[mid(blocks.length)]}.attn.qkv.weight`);
    const last = blocks.at(-1)!;
    add('last', `blocks.${last}.attn.qkv.weight`);
    add('last', `blocks.${last}.mlp.fc2.weight`);
  } else if (stages.length) {
    const lastBlock = (stage: number) => `layer${stage}.${Math.max(...indices(new RegExp(`^layer${stage}\\.(\\d+)\\.`)))}`;
    add('first', 'conv1.weight');
    if (stages.length >= 3) add('middle', `${lastBlock(stages[mid(stages.length)])}.conv3.weight`);
    add('last', `${lastBlock(stages.at(-1)!)}.conv3.weight`);
  }
  if (!out.some((l) => l.role === 'first') || !out.some((l) => l.role === 'last')) {
    const weights = params.filter((p) => p.trainable && p.kind === 'param' && p.shape.length >= 2);
    if (weights.length && !out.some((l) => l.role === 'first')) add('first', weights[0].name);
    if (weights.length && !out.some((l) => l.role === 'last')) add('last', weights.at(-1)!.name);
  }
  return out;
}

export class GradMonitor {
  readonly layers: MonitoredLayer[];

  constructor(backboneParams: readonly Param[]) {
    this.layers = chooseMonitoredLayers(backboneParams);
  }

  get labels(): string[] {
    return this.layers.map((l) => l.label);
  }

  /**
   * The L2 norms of the monitored layers' gradients as one [k] tensor (the caller reads it back
   * and disposes it), with the labels of the layers present; undefined when none has a gradient.
   * `grads` is keyed by tf.Variable name, as tf.variableGrads returns them.
   */
  norms(grads: tf.NamedTensorMap): { labels: string[]; norms: tf.Tensor1D } | undefined {
    const present = this.layers.filter((l) => grads[l.param.variable.name] !== undefined);
    if (present.length === 0) return undefined;
    const norms = tf.tidy(() => {
      const squares = present.map((l) => {
        const g = grads[l.param.variable.name];
        const row = tf.reshape(g, [1, g.size]);
        return tf.reshape(tf.matMul(row, row, false, true), [1]);
      });
      return tf.sqrt(squares.length === 1 ? squares[0] : tf.concat(squares)) as tf.Tensor1D;
    });
    return { labels: present.map((l) => l.label), norms };
  }
}

/**
 * Fig. 4's "relative values for the layer": each norm divided by the median of the layer's norms
 * over the whole run, or, with `window`, by the running median of the previous `window` values
 * (before the first full window: the median of those available; the first point has none). Non-finite
 * values stay NaN.
 */
export function relativeGradCurve<P extends SeriesPoint>(points: readonly P[], window?: number): { iter: number; value: number }[] {
  const ok = (v: number | null): v is number => typeof v === 'number' && Number.isFinite(v);
  const values = points.map((p) => p.value);
  const all = median(values.filter(ok));
  const seen: number[] = [];
  return points.map((p) => {
    const ref = window === undefined ? all : seen.length ? median(seen.slice(-window)) : Number.NaN;
    if (ok(p.value)) seen.push(p.value);
    return { iter: p.iter, value: ok(p.value) && ref > 0 ? p.value / ref : Number.NaN };
  });
}

/**
 * The one contract every evaluator of a frozen backbone meets (the kNN classifier, the linear probe,
 * a user's plugin): features in, metrics and details out. An evaluator is a plugin descriptor of
 * kind `evaluator` with a config schema (each field with its default) and one headline metric that
 * a suite shows as a column. The runner resolves evaluators by name from the container and calls
 * them only through `runEvaluator`, which validates the config, gives the evaluator the frozen
 * backbone, both splits and their centre-crop features (computed once, shared, disposed after),
 * and checks what comes back. Monitors during pre-training are training callbacks
 * (runner/training/callbacks.ts), not evaluators.
 */
import type { Static, TObject } from '@sinclair/typebox';
import type { tf } from '../engine/tf.ts';
import type { Backbone } from '../backbones/backbone.ts';
import type { AnyImageSet } from '../data/file-image-set.ts';
import { type ConfigurablePlugin, parsePluginConfig } from '../core/plugin.ts';
import { extractFeatures } from './features.ts';

/** How evaluation views are made: the backbone's input side and the centre crop's fraction of the resized image. */
export interface EvalView {
  viewSize: number;
  cropFraction: number;
}

/** What an evaluator is given: a frozen backbone and a labelled train / test pair. */
export interface EvalInput {
  /** Frozen: an evaluator must leave every parameter as it found it (eval mode: `apply(x, false)`). */
  readonly backbone: Backbone;
  readonly train: AnyImageSet;
  readonly test: AnyImageSet;
  readonly view: EvalView;
  /** Seed of whatever the evaluator draws (a head's init, batch order). */
  readonly seed: number;
  /** Eval-view features [count, outDim] of a split, computed on first use and shared; not to be disposed by the evaluator. */
  features(split: 'train' | 'test'): Promise<tf.Tensor2D>;
  /** Progress, for a bar: step `done` of `total`, with values to show. */
  onProgress?(done: number, total: number, values?: Record<string, number | string>): void;
}

/** What an evaluator returns: finite metrics by name (accuracies in [0, 1]) and details to store beside them. */
export interface EvalOutput<D = unknown> {
  metrics: Record<string, number>;
  details?: D;
}

/** The column a suite shows for an evaluator: one of its metrics, with a header. */
export interface EvalColumn {
  metric: string;
  header: string;
  /** The metric is a fraction shown in per cent. */
  percent: boolean;
}

export interface Evaluator<S extends TObject = TObject, D = unknown> extends ConfigurablePlugin<'evaluator', S> {
  readonly column: EvalColumn;
  evaluate(input: EvalInput, config: Static<S>): Promise<EvalOutput<D>>;
}

/** An evaluator descriptor, its shape checked (for plugin files: `defineEvaluator({...})`). */
export function defineEvaluator<S extends TObject, D = unknown>(e: Omit<Evaluator<S, D>, 'kind'>): Evaluator<S, D> {
  const who = `evaluator '${(e as { name?: unknown }).name}'`;
  if (typeof e.name !== 'string' || !/^[a-z0-9][a-z0-9_-]*$/.test(e.name))
    throw new Error(`${who}: name must be lower-case letters, digits, '-' or '_'`);
  if (typeof e.evaluate !== 'function') throw new Error(`${who}: evaluate(input, config) is missing`);
  if (e.schema?.type !== 'object') throw new Error(`${who}: schema must be a config schema (ConfigSchema({...}))`);
  if (!e.column || typeof e.column.metric !== 'string' || typeof e.column.header !== 'string')
    throw new Error(`${who}: column { metric, header, percent } is missing`);
  return { kind: 'evaluator', ...e };
}

/** What runEvaluator needs besides the evaluator and its config. */
export interface FrozenSetup {
  backbone: Backbone;
  train: AnyImageSet;
  test: AnyImageSet;
  view: EvalView;
  seed: number;
  onProgress?: EvalInput['onProgress'];
  /** Feature batch size (default 256). */
  featureBatch?: number;
}

/**
 * Runs `e` on a frozen backbone with `config` (any subset of its fields; defaults filled in,
 * validated, errors named `where.<field>`), and checks its output: every metric a finite number,
 * the column's metric among them.
 */
export async function runEvaluator<S extends TObject, D>(
  e: Evaluator<S, D>,
  setup: FrozenSetup,
  config: Record<string, unknown>,
  where = `evaluator ${e.name}`,
): Promise<EvalOutput<D> & { config: Static<S> }> {
  const cfg = parsePluginConfig(e.schema, config, where);
  const cache = new Map<'train' | 'test', tf.Tensor2D>();
  const input: EvalInput = {
    backbone: setup.backbone,
    train: setup.train,
    test: setup.test,
    view: setup.view,
    seed: setup.seed,
    onProgress: setup.onProgress,
    async features(split) {
      let f = cache.get(split);
      if (!f) {
        f = await extractFeatures(setup.backbone, split === 'train' ? setup.train : setup.test, {
          ...setup.view,
          batch: setup.featureBatch,
        });
        cache.set(split, f);
      }
      return f;
    },
  };
  try {
    const out = await e.evaluate(input, cfg);
    const bad = Object.entries(out?.metrics ?? {}).filter(([, v]) => typeof v !== 'number' || !Number.isFinite(v));
    if (!out || typeof out.metrics !== 'object') throw new Error(`${where}: evaluate() returned no { metrics }`);
    if (bad.length) throw new Error(`${where}: metric ${bad.map(([k, v]) => `${k} = ${v}`).join(', ')} is not a finite number`);
    if (!(e.column.metric in out.metrics))
      throw new Error(`${where}: evaluate() returned no '${e.column.metric}', the metric its column shows`);
    return { ...out, config: cfg };
  } finally {
    for (const f of cache.values()) f.dispose();
  }
}

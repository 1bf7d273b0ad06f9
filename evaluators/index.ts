/** The built-in kNN evaluator and the kNN monitor's factory, as the container registers them. */
import { Type } from '@sinclair/typebox';
import { ConfigSchema } from '../core/plugin.ts';
import { knnAccuracy, KNN_DEFAULT_K, KNN_DEFAULT_TEMPERATURE } from './knn.ts';
import { KnnMonitor, type KnnMonitorOptions } from './knn-monitor.ts';
import { defineEvaluator, runEvaluator, type Evaluator, type FrozenSetup } from './evaluator.ts';

/** The kNN classifier's fields: Wu et al.'s k 200 and T 0.07 by default. */
export const KnnConfigSchema = ConfigSchema({
  k: Type.Integer({ minimum: 1, default: KNN_DEFAULT_K }),
  temperature: Type.Number({ exclusiveMinimum: 0, default: KNN_DEFAULT_TEMPERATURE }),
});

/** Weighted kNN: the training split's features are the bank, the test split's the queries. */
export const knnEvaluator = defineEvaluator({
  name: 'knn',
  title: 'weighted kNN on frozen features (Wu et al. 2018; k 200, T 0.07)',
  schema: KnnConfigSchema,
  column: { metric: 'top1', header: 'kNN (%)', percent: true },
  async evaluate(input, c) {
    const bank = await input.features('train');
    const queries = await input.features('test');
    const top1 = await knnAccuracy(bank, input.train.labels, queries, input.test.labels, {
      k: c.k,
      temperature: c.temperature,
      numClasses: input.train.numClasses,
    });
    return { metrics: { top1 } };
  },
});

/** The headline metric (its column's) of one evaluator run: e.g. a kNN top-1. */
export async function headlineMetric(e: Evaluator, setup: FrozenSetup, config: Record<string, unknown>): Promise<number> {
  return (await runEvaluator(e, setup, config)).metrics[e.column.metric];
}

export interface MonitorFactory {
  readonly kind: 'monitor';
  readonly name: string;
  readonly title: string;
  create(opts: KnnMonitorOptions): KnnMonitor;
}

export const knnMonitorFactory: MonitorFactory = {
  kind: 'monitor',
  name: 'knn-monitor',
  title: "the paper's dense kNN monitor (queue of augmented-crop [CLS] features)",
  create: (opts) => new KnnMonitor(opts),
};

/** Evaluators by name, as the container registers them. */
import { tf } from '../engine/tf.ts';
import type { Backbone } from '../backbones/backbone.ts';
import type { AnyImageSet } from '../data/file-image-set.ts';
import { knnAccuracy } from './knn.ts';
import { KnnMonitor, type KnnMonitorOptions } from './knn-monitor.ts';
import { extractFeatures } from './features.ts';

export interface EvalOptions {
  viewSize: number;
  cropFraction: number;
  k: number;
  temperature: number;
}

/** Evaluates a frozen backbone: train on `train` (or use it as the bank), report top-1 on `test`. */
export interface FrozenEvaluator {
  readonly kind: 'evaluator';
  readonly name: string;
  readonly title: string;
  /** `train` and `test` may be read from their files (data/file-image-set.ts) where the evaluator says so. */
  evaluate(backbone: Backbone, train: AnyImageSet, test: AnyImageSet, opts: EvalOptions): Promise<number>;
}

export const knnEvaluator: FrozenEvaluator = {
  kind: 'evaluator',
  name: 'knn',
  title: 'weighted kNN on frozen features (Wu et al. 2018; k 200, T 0.07)',
  async evaluate(backbone, train, test, o) {
    const fo = { viewSize: o.viewSize, cropFraction: o.cropFraction };
    const bank = await extractFeatures(backbone, train, fo);
    const queries = await extractFeatures(backbone, test, fo).catch((err) => {
      bank.dispose();
      throw err;
    });
    try {
      return await knnAccuracy(bank, train.labels, queries, test.labels, {
        k: o.k,
        temperature: o.temperature,
        numClasses: train.numClasses,
      });
    } finally {
      tf.dispose([bank, queries]);
    }
  },
};

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

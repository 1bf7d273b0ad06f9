/** The pre-training kind: each cell pre-trained, probed, and evaluated by the suite's further evaluators. */
import { trainingCellErrors } from '../suites/schema.ts';
import { runPretrainSuite } from '../runner/pretrain-suite.ts';
import { planSuite } from '../runner/suite-plan.ts';
import { renderPretrainStore } from '../report/rerender.ts';
import { TRAINING_FLAGS, type SuiteKind } from './kind.ts';

export const pretrainKind: SuiteKind = {
  name: 'pretrain',
  title: 'pre-trains each cell, then its linear probe, kNN and further evaluators (tables, curves, floors)',
  counts: false,
  runFlags: [...TRAINING_FLAGS, 'queue', 'queueName', 'attempts', 'queueTimeout', 'maxIters', 'snapshots', 'evaluate', 'seeds', 'cells'],
  refusesFlags: 'a pre-training suite has no use for them',
  storesPretrainCells: true,
  validate: (suite) => trainingCellErrors(suite),
  plan: planSuite,
  run: async (suite, o) => runPretrainSuite(suite, o),
  render: (suite, preset, o) => renderPretrainStore(suite, preset!, o),
  // loaded when used: a run without --queue does not load the Redis client
  queue: async (suite, o) => (await import('../queue/suite.ts')).runSuiteOnQueue(suite, o),
};

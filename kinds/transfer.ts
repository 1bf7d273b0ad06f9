/** The transfer kind (Table 5): each cell's backbone fine-tuned end to end on a transfer data set. */
import { trainingCellErrors } from '../suites/schema.ts';
import { runEvalSuite, transferCell } from '../runner/eval-suite.ts';
import { planSuite } from '../runner/suite-plan.ts';
import { transferTable } from '../report/eval-tables.ts';
import { renderEvalStore } from '../report/rerender.ts';
import { noEvaluators, TRAINING_FLAGS, type SuiteKind } from './kind.ts';

export const transferKind: SuiteKind = {
  name: 'transfer',
  title: 'pre-trains each cell (or keeps its random init), then fine-tunes it on a transfer data set',
  counts: false,
  runFlags: [...TRAINING_FLAGS, 'dataRoot'],
  refusesFlags: 'a transfer suite has no use for them (its cells are fine-tuned here, one by one)',
  storesPretrainCells: false,
  validate: (suite) => [
    ...trainingCellErrors(suite, ['probe', 'transfer']),
    ...noEvaluators(suite),
    ...suite.cells.flatMap((c, i) =>
      c.reference || typeof (c.transfer as { dataset?: unknown } | undefined)?.dataset === 'string'
        ? []
        : [`cells[${i}].transfer.dataset: a transfer cell names its target data set`],
    ),
  ],
  plan: planSuite,
  run: (suite, o) => runEvalSuite(suite, o, transferCell, transferTable),
  render: (suite, preset, o) => renderEvalStore(suite, preset!, o, transferTable),
};

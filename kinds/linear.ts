/** The linear-probe kind (Table 1): each cell's pre-trained (or random-init) backbone probed with the paper's protocol. */
import { trainingCellErrors } from '../suites/schema.ts';
import { linearCell, runEvalSuite } from '../runner/eval-suite.ts';
import { planSuite } from '../runner/suite-plan.ts';
import { linearTable } from '../report/eval-tables.ts';
import { renderEvalStore } from '../report/rerender.ts';
import { noEvaluators, TRAINING_FLAGS, type SuiteKind } from './kind.ts';

export const linearKind: SuiteKind = {
  name: 'linear',
  title: "pre-trains each cell (or keeps its random init), then the paper's linear probe",
  counts: false,
  runFlags: [...TRAINING_FLAGS],
  refusesFlags: 'a linear-probe suite has no use for them (its cells are probed here, one by one)',
  storesPretrainCells: false,
  validate: (suite) => [...trainingCellErrors(suite, ['probe']), ...noEvaluators(suite)],
  plan: planSuite,
  run: (suite, o) => runEvalSuite(suite, o, linearCell, linearTable),
  render: (suite, preset, o) => renderEvalStore(suite, preset!, o, linearTable),
};

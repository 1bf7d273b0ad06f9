/** Counting kinds (Tables 2 and 3): parameters or FLOPs of each backbone, from the architecture alone. */
import { countCellErrors } from '../suites/schema.ts';
import { type CountTableBuilder, flopsTable, paramsTable, writeCountOutputs } from '../report/count-tables.ts';
import { renderCountStore } from '../report/rerender.ts';
import { noEvaluators, type SuiteKind } from './kind.ts';

function countKind(name: string, what: string, tableOf: CountTableBuilder): SuiteKind {
  return {
    name,
    title: `counts each backbone's ${what} from its architecture (no data, no training)`,
    counts: true,
    runFlags: [],
    refusesFlags: `counts ${what} from the architectures alone, runs nothing and reads no data, so these flags would be ignored`,
    storesPretrainCells: false,
    validate: (suite) => [...countCellErrors(suite), ...noEvaluators(suite)],
    run: async (suite, o) => writeCountOutputs(suite, o.registry, o.resultsDir, tableOf),
    render: (suite, _preset, o) => renderCountStore(suite, o, tableOf),
  };
}

export const paramsKind = countKind('params', 'parameters', paramsTable);
export const flopsKind = countKind('flops', 'FLOPs', flopsTable);

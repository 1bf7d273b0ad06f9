/** `bench list`: every registered name per kind, and the suites. */
import { Command } from 'commander';
import { Registry } from '../../container/container.ts';
import { KINDS } from '../../container/tokens.ts';
import { listSuites } from '../../suites/index.ts';

export function listCommand(): Command {
  return new Command('list').description('print every registered backbone, framework, evaluator, dataset, optimiser and suite').action(() => {
    const reg = new Registry();
    for (const kind of KINDS) {
      const names = reg.names(kind);
      console.log(`${kind}s: ${names.length ? names.join(', ') : '(none yet)'}`);
    }
    console.log(`suites: ${listSuites().map((s) => s.name).join(', ')}`);
  });
}

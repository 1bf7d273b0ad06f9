/** `bench list [what]`: every registered name per kind, and the suites (one per line: name, title). */
import { Command } from 'commander';
import { Registry } from '../../container/container.ts';
import { KINDS } from '../../container/tokens.ts';
import { listSuites } from '../../suites/index.ts';

const SECTIONS = ['suites', ...KINDS.map((k) => `${k}s`)];

/** The suites section: `suites:`, then `  NAME  TITLE` per suite, names padded to one column. */
export function suiteLines(): string[] {
  const suites = listSuites();
  const width = Math.max(...suites.map((s) => s.name.length));
  return ['suites:', ...suites.map((s) => `  ${s.name.padEnd(width)}  ${s.title}`)];
}

export function listCommand(): Command {
  return new Command('list')
    .description('print every registered backbone, framework, evaluator, dataset, optimiser, and every suite with its title')
    .argument('[what]', `one section only: ${SECTIONS.join(', ')}`)
    .action((what?: string) => {
      if (what !== undefined && !SECTIONS.includes(what)) throw new Error(`list: unknown section '${what}'; choose one of ${SECTIONS.join(', ')}`);
      const reg = new Registry();
      for (const kind of KINDS) {
        if (what !== undefined && what !== `${kind}s`) continue;
        const names = reg.names(kind);
        console.log(`${kind}s: ${names.length ? names.join(', ') : '(none yet)'}`);
      }
      if (what === undefined || what === 'suites') console.log(suiteLines().join('\n'));
    });
}

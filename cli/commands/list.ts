/** `bench list [what]`: every registered name per kind, and the suites (one per line: name, title). */
import { Command } from 'commander';
import { PLUGIN_FLAG, commandRegistry } from '../options.ts';
import { PLUGIN_KINDS } from '../../core/plugin.ts';
import { listSuites } from '../../kinds/index.ts';

const SECTIONS = ['suites', ...PLUGIN_KINDS.map((k) => `${k}s`)];

/** The suites section: `suites:`, then `  NAME  TITLE` per suite, names padded to one column. */
export function suiteLines(): string[] {
  const suites = listSuites();
  const width = Math.max(...suites.map((s) => s.name.length));
  return ['suites:', ...suites.map((s) => `  ${s.name.padEnd(width)}  ${s.title}`)];
}

export function listCommand(): Command {
  return new Command('list')
    .description(
      'print every registered backbone, framework, optimiser, dataset, evaluator, training monitor and fine-tuner, and every suite ' +
        'with its title',
    )
    .argument('[what]', `one section only: ${SECTIONS.join(', ')}`)
    .option(...PLUGIN_FLAG)
    .action(async (what: string | undefined, o: { plugin: string[] }) => {
      if (what !== undefined && !SECTIONS.includes(what))
        throw new Error(`list: unknown section '${what}'; choose one of ${SECTIONS.join(', ')}`);
      const reg = await commandRegistry(o.plugin);
      for (const kind of PLUGIN_KINDS) {
        if (what !== undefined && what !== `${kind}s`) continue;
        const names = reg.set(kind).names();
        console.log(`${kind}s: ${names.length ? names.join(', ') : '(none yet)'}`);
        if (kind === 'dataset') {
          const targets = reg.datasets.all().filter((d) => d.transfer);
          console.log(
            `transfer targets (--data-root DIR/<folder>): ${targets.map((d) => `${d.name} (${d.transfer!.folder}/)`).join(', ')}`,
          );
        }
      }
      if (what === undefined || what === 'suites') console.log(suiteLines().join('\n'));
    });
}

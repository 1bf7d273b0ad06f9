/** `bench run SUITE`: run a suite, print its table and write it under the results folder. */
import { Command } from 'commander';
import path from 'node:path';
import { Registry } from '../../container/container.ts';
import { loadSuite } from '../../suites/index.ts';
import { countTable } from '../../runner/count-suite.ts';
import { renderTerminal } from '../../report/table.ts';
import { writeTable } from '../../report/write.ts';

export function runCommand(): Command {
  return new Command('run')
    .description('run a suite (by name, or a path to a suite .json file) and write its tables')
    .argument('<suite>', 'suite name (see `bench list`) or path to a suite file')
    .option('--results <dir>', 'folder the tables are written to', 'results')
    .action((name: string, o: { results: string }) => {
      const suite = loadSuite(name);
      const table = countTable(suite, new Registry());
      console.log(renderTerminal(table));
      const files = writeTable(path.resolve(o.results), table, { suite: suite.name, reference: suite.reference });
      console.log(`\nwrote ${files.map((f) => path.relative(process.cwd(), f)).join(', ')}`);
    });
}

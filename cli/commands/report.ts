/**
 * `bench report SUITE [--preset P] [--results DIR] [--format md|csv|json|html]`: re-renders a
 * suite's tables, figures and HTML page from its stored results JSON without running anything
 * (report/rerender.ts), prints the table in the chosen format on stdout and the files written on
 * stderr. Running it twice on the same store writes the same bytes.
 */
import { Command, Option } from 'commander';
import path from 'node:path';
import { type EngineFlags, commandRegistry, initEngine, withEngineOptions } from '../options.ts';
import { loadSuite, reportPreset, rerenderSuite, suiteKind } from '../../kinds/index.ts';
import { PRESETS } from '../../recipes/presets.ts';
import { renderCsv, renderMarkdown } from '../../report/table.ts';
import { storeBaselines, storedPretrainCells } from '../../report/rerender.ts';
import { suiteBaselines } from '../../runner/baselines.ts';
import { plotRunMetrics } from '../../report/run-metrics.ts';

const FORMATS = ['md', 'csv', 'json', 'html'] as const;

interface ReportFlags extends EngineFlags {
  preset?: string;
  results: string;
  format: (typeof FORMATS)[number];
  run?: string;
  baselines?: boolean;
  runs: string;
}

export function reportCommand(): Command {
  return withEngineOptions(new Command('report'))
    .description(
      "re-render a suite's tables, figures and HTML page from its stored results (nothing is run, but with --baselines the floors' probes)",
    )
    .argument('[suite]', 'suite name (see `bench list`) or path to a suite file')
    .addOption(new Option('--preset <name>', "size preset the results are for (default: the suite's own)").choices(PRESETS))
    .option('--run <dir>', "instead of a suite: plot one run folder's metrics.jsonl (loss, kNN, lr), also while it trains")
    .option('--results <dir>', 'folder holding the stored results (rewritten in place)', 'results')
    .addOption(new Option('--format <fmt>', 'format of the table printed on stdout').choices(FORMATS).default('md'))
    .option(
      '--baselines',
      "first compute a pre-training suite's floors for its stored cells (raw pixels and each backbone at random init, probed by " +
        "the cells' own rule; this runs probes and kNN, cached under --runs), then re-render with them",
    )
    .option('--runs <dir>', 'with --baselines: the run store that caches the floors', 'runs')
    .action(async (name: string | undefined, o: ReportFlags) => {
      if (o.run) {
        if (name) throw new Error(`--run ${o.run}: plots one run folder; give either a suite or --run, not both`);
        const r = plotRunMetrics(path.resolve(o.run));
        console.log(r.summary);
        console.error(`wrote ${r.files.map((f) => path.relative(process.cwd(), f)).join(', ')}`);
        return;
      }
      if (!name) throw new Error('give a suite name (see `bench list`) or --run DIR');
      const suite = loadSuite(name);
      const registry = await commandRegistry();
      if (o.baselines) {
        if (!suiteKind(suite).storesPretrainCells)
          throw new Error(`--baselines: suite ${suite.name} is not a pre-training suite (its tables have no floors)`);
        const preset = reportPreset(suite, o.preset)!;
        await initEngine(o);
        const stored = storedPretrainCells(suite, preset, path.resolve(o.results));
        const baselines = await suiteBaselines(
          stored.cells.map((c) => ({ id: c.id, config: c.config, probe: c.probe?.config })),
          { preset, runsDir: path.resolve(o.runs), registry, log: (l) => console.error(l) },
        );
        storeBaselines(stored.file, baselines);
      }
      const r = rerenderSuite(suite, { preset: o.preset, resultsDir: path.resolve(o.results), registry });
      const out =
        o.format === 'csv'
          ? renderCsv(r.table)
          : o.format === 'json'
            ? `${JSON.stringify(r.table, null, 2)}\n`
            : o.format === 'html'
              ? r.html
              : renderMarkdown(r.table);
      process.stdout.write(out);
      console.error(`wrote ${r.files.map((f) => path.relative(process.cwd(), f)).join(', ')}`);
    });
}

/**
 * `bench curve SUITE [--preset P] [--results DIR] [--runs DIR]`: the probe-vs-iterations curve of
 * each stored cell of a pre-training suite that was run with `--snapshots` (runner/probe-curve.ts):
 * probes every snapshot (cached in the run store) and writes SUITE-PRESET-probe-curve.md, .csv,
 * .json and .svg beside the suite's tables.
 */
import { Command, Option } from 'commander';
import path from 'node:path';
import { type EngineFlags, commandRegistry, initEngine, withEngineOptions } from '../options.ts';
import { loadSuite, reportPreset, suiteKind } from '../../kinds/index.ts';
import { PRESETS } from '../../recipes/presets.ts';
import { storedPretrainCells } from '../../report/rerender.ts';
import { resultBaseName } from '../../suites/schema.ts';
import { listSnapshots } from '../../runner/snapshots.ts';
import { probeCurve } from '../../runner/probe-curve.ts';
import { type LabelledCurve, probeCurveTable, writeProbeCurve } from '../../report/probe-curve.ts';
import { renderTerminal } from '../../report/table.ts';

interface CurveFlags extends EngineFlags {
  preset?: string;
  results: string;
  runs: string;
  name?: string;
}

export function curveCommand(): Command {
  return withEngineOptions(new Command('curve'))
    .description(
      "the probe-vs-iterations curve of a pre-training suite's stored cells run with --snapshots: the linear probe (lr and epoch " +
        'chosen on validation) of each snapshot, the final weights and the random init',
    )
    .argument('<suite>', 'suite name (see `bench list`) or path to a suite file')
    .addOption(new Option('--preset <name>', "size preset the results are for (default: the suite's own)").choices(PRESETS))
    .option('--results <dir>', "folder holding the suite's stored results; the curve is written there", 'results')
    .option('--runs <dir>', "run store holding the cells' snapshots (probes are cached there)", 'runs')
    .option('--name <base>', 'base name of the files written (default: SUITE-PRESET-probe-curve)')
    .action(async (name: string, o: CurveFlags) => {
      const suite = loadSuite(name);
      if (!suiteKind(suite).storesPretrainCells) throw new Error(`suite ${suite.name} is not a pre-training suite: it has no curve`);
      const preset = reportPreset(suite, o.preset)!;
      const runsDir = path.resolve(o.runs);
      const { cells } = storedPretrainCells(suite, preset, path.resolve(o.results));
      const withSnaps = cells
        .map((c) => ({ c, runDir: path.join(runsDir, preset, path.basename(c.runDir)) }))
        .filter(({ runDir }) => listSnapshots(runDir).length > 0);
      if (withSnaps.length === 0)
        throw new Error(
          `--runs ${o.runs}: no cell of ${suite.name} at ${preset} has backbone snapshots; run the suite with \`bench run --snapshots N\``,
        );
      const registry = await commandRegistry();
      await initEngine(o);
      const curves: LabelledCurve[] = [];
      for (const { c, runDir } of withSnaps) {
        const curve = await probeCurve(c.config, c.hash, runDir, c, { preset, runsDir, registry, log: (l) => console.error(l) });
        curves.push({ id: c.id, curve });
      }
      const file = o.name ?? `${resultBaseName(suite.name, preset)}-probe-curve`;
      if (!/^[A-Za-z0-9._-]+$/.test(file)) throw new Error(`--name ${file}: use letters, digits, '.', '_' and '-' only`);
      const title = `${suite.name} at ${preset}: linear probe vs iterations`;
      const files = writeProbeCurve(path.resolve(o.results), file, title, curves);
      console.log(renderTerminal(probeCurveTable(file, title, curves)));
      console.error(`wrote ${files.map((f) => path.relative(process.cwd(), f)).join(', ')}`);
    });
}

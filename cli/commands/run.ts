/** `bench run SUITE`: run a suite, print its table and write it (tables, figures, HTML page) under the results folder. */
import { Command, Option } from 'commander';
import { collectSet, mergeOverrides, type Overrides } from '../set-overrides.ts';
import path from 'node:path';
import { loadSuite, suiteKind } from '../../kinds/index.ts';
import { suiteAtSeeds } from '../../suites/seeds.ts';
import { isSelected, selectedArms } from '../../suites/cell-selection.ts';
import { durationText, estimateText } from '../../runner/time-estimate.ts';
import type { Written } from '../../kinds/kind.ts';
import { RunStopped } from '../../runner/pretrain.ts';
import { installStopHandlers, SIGNAL_EXIT } from '../stop-signals.ts';
import { renderTerminal } from '../../report/table.ts';
import { PRESETS } from '../../recipes/presets.ts';
import {
  type EngineFlags,
  PLUGIN_FLAG,
  writableDir,
  commandRegistry,
  initEngine,
  intOption,
  precisionOption,
  withEngineOptions,
} from '../options.ts';
import { DEFAULT_QUEUE_NAME } from '../../queue/connection.ts';
import { checkEvaluatorSpecs } from '../../runner/cell-evaluations.ts';

interface RunFlags extends EngineFlags {
  results: string;
  runs: string;
  preset?: string;
  data?: string;
  dataRoot?: string;
  quiet?: boolean;
  queue?: string;
  queueName: string;
  attempts: number;
  queueTimeout: number;
  set?: Overrides;
  printConfig?: boolean;
  allowEngineMix?: boolean;
  dryRun?: boolean;
  plugin: string[];
  maxIters?: number;
  snapshots?: number;
  seeds?: number;
  cells?: string[];
  workers?: number;
  evaluate?: string[];
  precision: 'fp32' | 'bf16';
}

export function runCommand(): Command {
  return withEngineOptions(
    new Command('run')
      .description('run a suite (by name, or a path to a suite .json file) and write its tables')
      .argument('<suite>', 'suite name (see `bench list`) or path to a suite file')
      .addOption(new Option('--preset <name>', "size preset (default: the suite's own)").choices(PRESETS))
      .option('--data <path>', 'data set folder (ImageNet ImageFolder root for --preset paper; Fashion-MNIST folder otherwise)')
      .option(
        '--data-root <dir>',
        "transfer suites: folder holding each target data set in its descriptor's folder (`bench list datasets`: " +
          "cifar-10-batches-bin/, cifar-100-binary/, flowers-102/, oxford-iiit-pet/ and a plugin's); small presets use " +
          'synthetic stand-ins without it',
      )
      .option('--results <dir>', 'folder the tables are written to', 'results')
      .option('--runs <dir>', 'run store: checkpoints, logs, weights (resumable)', 'runs')
      .option('--quiet', 'no progress line')
      .option(
        '--queue <url>',
        'pre-training suites: put the unfinished cells on this Redis queue (redis://HOST:PORT) for `bench worker`s, wait, then write ' +
          'the tables',
      )
      .option('--queue-name <name>', 'queue name', DEFAULT_QUEUE_NAME)
      .option(...PLUGIN_FLAG)
      .option(
        '--evaluate <evaluator>',
        "pre-training suites: also run this evaluator (built in or a --plugin's; see `bench list`) on every cell's weights, with " +
          "its config's defaults; a column of the table (repeatable)",
        (v: string, prev: string[] = []) => [...prev, v],
      )
      .option(
        '--set <path=value>',
        "override a field of every cell's config after its preset (repeatable; e.g. --set optimizer.batch=128 --set seed=1); " +
          "checked by the suites' schema",
        collectSet,
      )
      .option('--allow-engine-mix', 'reuse cells finished or checkpointed on another backend / kernels / sslbench version')
      .option('--print-config', "print every cell's resolved config (JSON) and its hash, then stop")
      .option('--dry-run', 'list the cells, their config hashes, run folders and state (finished, resumable, new), then stop')
      .option('--attempts <n>', 'with --queue: tries per cell before it is marked failed', intOption('--attempts', 1), 2)
      .option(
        '--max-iters <n>',
        'stop each cell after this many iterations, with a checkpoint (run again, with a larger value or without, to resume)',
        intOption('--max-iters', 1),
      )
      .option(
        '--snapshots <epochs>',
        "pre-training suites: save each cell's backbone every this many epochs (RUN/snapshots/), for `bench curve`'s " +
          'probe-vs-iterations curve; changes no number (not in the config hash)',
        intOption('--snapshots', 1),
      )
      .option(
        '--seeds <n>',
        "pre-training suites: run every cell at seeds 0..n-1 (its own seed + k; the seed-0 cell is the suite's cell, the " +
          "others 'ID · seed k'); arms at one seed share init, data order and augmentation draws where their configs allow, " +
          "and `bench claims` pairs them by seed (default: the suite's `seeds`, else 1)",
        intOption('--seeds', 1),
      )
      .option(
        '--cells <id>',
        'pre-training suites: train only this cell (its id, as `--dry-run` lists it; at every seed of the run; repeatable); the ' +
          "suite's other cells are read where finished and listed as not run otherwise, in the tables and the stored results",
        (v: string, prev: string[] = []) => [...prev, v],
      )
      .option('--workers <n>', 'decode worker threads of a streamed data set (data.stream; default: the CPUs)', intOption('--workers', 1))
      .addOption(precisionOption('every cell (in its config and hash)'))
      .option(
        '--queue-timeout <seconds>',
        'with --queue: give up (naming the cells still pending) when Redis has not answered for this long',
        intOption('--queue-timeout', 1),
        300,
      ),
  ).action(async (name: string, o: RunFlags, cmd: Command) => {
    const loaded = loadSuite(name);
    const registry = await commandRegistry(o.plugin);
    const kind = suiteKind(loaded);
    // a flag the suite's kind does not take would be ignored: an error naming it instead
    const always = ['results', 'plugin', 'quiet'];
    const refused = cmd.options
      .map((opt) => opt.attributeName())
      .filter((k) => cmd.getOptionValueSource(k) === 'cli' && !always.includes(k) && !kind.runFlags.includes(k))
      .map((k) => `--${k === 'native' ? 'no-native' : k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    if (refused.length) throw new Error(`${refused.join(', ')}: suite ${loaded.name} (kind ${kind.name}) ${kind.refusesFlags}; drop them`);
    if (kind.counts) {
      const { table, files } = await kind.run(loaded, {
        preset: 'none',
        resultsDir: path.resolve(o.results),
        runsDir: path.resolve(o.runs),
        registry,
      });
      console.log(renderTerminal(table));
      console.log(`\nwrote ${files.map((f) => path.relative(process.cwd(), f)).join(', ')}`);
      return;
    }
    const preset = o.preset ?? loaded.preset ?? 'tiny';
    // --precision bf16 is part of every cell's config (and hash); fp32, the default, is not written
    const overrides = mergeOverrides(
      mergeOverrides(o.set ?? {}, o.data ? { data: { path: path.resolve(o.data) } } : {}),
      o.precision === 'bf16' ? { precision: 'bf16' } : {},
    );
    // several seeds: every cell once per seed (suites/seeds.ts), paired by seed in `bench claims`
    const suite = suiteAtSeeds(loaded, o.seeds, overrides, kind.runFlags.includes('seeds'));
    const only = selectedArms(suite, o.cells);
    if (only && o.queue) throw new Error('--cells: a queued run (--queue) runs the whole suite; drop one of them');
    const evaluators = ((o.evaluate ?? []) as string[]).map((name) => ({ name }));
    if (evaluators.length) checkEvaluatorSpecs(evaluators, registry, '--evaluate');
    if (o.printConfig || o.dryRun) {
      const cells = kind.plan!(suite, { preset, runsDir: path.resolve(o.runs), overrides, registry }).map((c, i) =>
        isSelected(only, suite.cells[i]) || c.state.startsWith('finished')
          ? c
          : { ...c, state: 'not selected (--cells)', estimate: undefined },
      );
      if (o.printConfig)
        console.log(
          JSON.stringify(
            cells.map(({ id, hash, config }) => ({ id, hash, config })),
            null,
            2,
          ),
        );
      if (o.dryRun) {
        console.log(`${suite.name} at preset ${preset}: ${cells.length} cell(s), run store ${path.resolve(o.runs)}`);
        for (const c of cells)
          console.log(
            `  ${c.id.padEnd(24)} ${c.hash}  ${c.state.padEnd(22)} ${path.relative(process.cwd(), c.runDir)}` +
              (c.state.startsWith('finished') ? '' : `  ${estimateText(c.estimate)}`),
          );
        // cells that are one run (the same config in two cells) train once
        const todo = [
          ...new Map(
            cells.filter((c) => !c.state.startsWith('finished') && !c.state.startsWith('not selected')).map((c) => [c.runDir, c]),
          ).values(),
        ];
        const timed = todo.filter((c) => c.estimate?.seconds !== undefined);
        if (todo.length)
          console.log(
            `  training to do: ${todo.length} run(s); estimated ${durationText(timed.reduce((a, c) => a + c.estimate!.seconds!, 0))} ` +
              `for ${timed.length} of them (rates measured on this run store's finished cells; probes and floors add minutes per cell)`,
          );
      }
      return;
    }
    // the folders are checked before any training: a week of GPU time must not end in EROFS
    writableDir('--results', o.results);
    writableDir('--runs', o.runs);
    if (o.queue) {
      // the workers train; this process only enqueues, waits and writes the tables (a kind that takes --queue has the hook)
      const { table, files, failed } = await kind.queue!(suite, {
        preset,
        resultsDir: path.resolve(o.results),
        runsDir: path.resolve(o.runs),
        registry,
        overrides,
        evaluators,
        url: o.queue,
        queueName: o.queueName,
        attempts: o.attempts,
        timeoutMs: o.queueTimeout * 1000,
      });
      console.log(renderTerminal(table));
      console.log(`\nwrote ${files.map((f) => path.relative(process.cwd(), f)).join(', ')}`);
      if (failed.length) process.exitCode = 1;
      return;
    }
    const backend = await initEngine(o);
    installStopHandlers();
    console.error(
      `backend: ${backend.name}${backend.gpu ? ' (GPU)' : ''}, ` +
        `${backend.native.kernels.length ? `native GEMM x${backend.native.threads}` : 'stock kernels'}`,
    );
    const runOpts = {
      preset,
      resultsDir: path.resolve(o.results),
      runsDir: path.resolve(o.runs),
      registry,
      overrides,
      dataRoot: o.dataRoot ? path.resolve(o.dataRoot) : undefined,
      quiet: o.quiet,
      allowEngineMix: o.allowEngineMix,
      maxIters: o.maxIters,
      snapshotEpochs: o.snapshots,
      dataWorkers: o.workers,
      evaluators,
      only,
    };
    let out: Written;
    try {
      out = await kind.run(suite, runOpts);
    } catch (err) {
      if (!(err instanceof RunStopped)) throw err;
      // --max-iters or a signal: a stop asked for, not a failure; no table until the cells finish
      console.error(err.message);
      if (SIGNAL_EXIT[err.why]) process.exitCode = SIGNAL_EXIT[err.why];
      return;
    }
    const { table, files } = out;
    console.log(renderTerminal(table));
    console.log(`\nwrote ${files.map((f) => path.relative(process.cwd(), f)).join(', ')}`);
  });
}

/**
 * Runs a pre-training suite: resolves each cell's config (preset + overrides), validates and
 * hashes it, skips cells already finished, runs the rest with a progress line, probes each
 * finished cell (runner/cell-probe.ts), and hands the results to report/pretrain-tables.ts, which
 * writes the suite's tables (Markdown, CSV, JSON), curves (SVG) and HTML page under the results
 * folder, unstable cells flagged (report/instability-notes.ts).
 */
import { checkEngine, recordedEngine } from './engine-check.ts';
import { LOCK_FILE, lockOwner } from '../core/run-lock.ts';
import path from 'node:path';
import type { Suite, SuiteCell, SuiteEvaluator } from '../suites/schema.ts';
import { checkEvaluatorSpecs, evaluateCell } from './cell-evaluations.ts';
import { checkPretrainConfig } from '../suites/schema.ts';
import type { Registry } from '../container/container.ts';
import type { ResultTable } from '../report/table.ts';
import type { ProbedResult, ResolvedCell } from '../report/suite-results.ts';
import { writePretrainOutputs } from '../report/pretrain-tables.ts';
import { Progress } from '../core/progress.ts';
import { scaleConfig } from '../recipes/presets.ts';
import { DEFAULT_RECIPE, recipe } from '../recipes/recipes.ts';
import { deepMerge } from '../core/config.ts';
import { adoptLegacyRunDir, cellHash } from './cell-hash.ts';
import { resolveDataset } from './datasets.ts';
import type { PretrainResult } from '../core/results.ts';
import { pretrain, readResult } from './pretrain.ts';
import { probeCell } from './cell-probe.ts';
import { suiteBaselines } from './baselines.ts';
import { isSelected } from '../suites/cell-selection.ts';

export interface SuiteRunOptions {
  preset: string;
  resultsDir: string;
  runsDir: string;
  registry: Registry;
  /** Extra overrides for every cell (e.g. --data PATH). */
  overrides?: unknown;
  /** Transfer suites: folder holding the target data sets in their official layouts (--data-root). */
  dataRoot?: string;
  log?: (line: string) => void;
  quiet?: boolean;
  /** Reuse cells finished or checkpointed on another engine (runner/engine-check.ts). */
  allowEngineMix?: boolean;
  /** Stop each cell after this many iterations, with a checkpoint (runner/pretrain.ts RunStopped). */
  maxIters?: number;
  /** Decode worker threads of a streamed data set (data.stream). */
  dataWorkers?: number;
  /** Save each cell's backbone every this many epochs (runner/snapshots.ts, for `bench curve`). */
  snapshotEpochs?: number;
  /** Evaluators run on every cell besides the suite's own `evaluators` (`--evaluate NAME`). */
  evaluators?: SuiteEvaluator[];
  /**
   * A partial run (`--cells`, suites/cell-selection.ts): only these arms train; the other cells are
   * read where finished, else stored as not run. Undefined: every cell.
   */
  only?: ReadonlySet<string>;
}

/** A pre-training suite's further evaluators: its own, then the run's (`--evaluate`), each name once. */
export function suiteEvaluators(suite: Suite, o: Pick<SuiteRunOptions, 'evaluators'>): SuiteEvaluator[] {
  const own = suite.evaluators ?? [];
  return [...own, ...(o.evaluators ?? []).filter((e) => !own.some((x) => x.name === e.name))];
}

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/**
 * A cell's config: its recipe, with the cell's paper-scale choices, scaled to the preset; then the
 * suite's and the cell's overrides for that preset, then the command line's.
 */
export function resolveCell(
  suite: Suite,
  cell: SuiteCell,
  o: Pick<SuiteRunOptions, 'preset' | 'runsDir' | 'overrides' | 'registry'>,
): ResolvedCell {
  const reg = o.registry;
  const base = recipe(cell.recipe ?? suite.recipe ?? DEFAULT_RECIPE).config;
  // a cell naming another framework than its recipe's (e.g. a plugin's) starts from that framework's
  // defaults: the recipe's framework fields belong to the recipe's framework
  const fwName = (cell.config.framework as { name?: string } | undefined)?.name;
  let config = deepMerge(fwName && fwName !== base.framework.name ? { ...base, framework: { name: fwName } } : base, cell.config);
  const named = (over: Record<string, unknown> | undefined) => (over?.backbone as { name?: string } | undefined)?.name;
  config = scaleConfig(o.preset, config, reg.frameworks, { backbone: named(cell.scaled?.[o.preset]) ?? named(suite.scale?.[o.preset]) });
  config = deepMerge(config, suite.scale?.[o.preset]);
  // an evaluation suite's cell may also scale its evaluation (`probe`, `transfer`): not pre-training fields
  const { probe: _probe, transfer: _transfer, ...scaledPretrain } = cell.scaled?.[o.preset] ?? {};
  config = deepMerge(config, scaledPretrain);
  if (o.overrides) config = deepMerge(config, o.overrides);
  config = { ...config, data: resolveDataset(config.data, reg.datasets.all()) };
  // fp32 is the default precision: stated or not, the same config (and hash, and run folder)
  if (config.precision === 'fp32') {
    const { precision: _fp32, ...rest } = config;
    config = rest;
  }
  const where = `suite ${suite.name}, cell '${cell.id}', preset ${o.preset}`;
  checkPretrainConfig(config, where, (n) => ({
    framework: reg.frameworks.get(n.framework),
    optimizer: reg.optimizers.get(n.optimizer),
    dataset: reg.datasets.get(n.dataset),
  }));
  const mc = config.augment.multiCrop;
  if (mc && !reg.frameworks.get(config.framework.name).multiCrop)
    throw new Error(
      `${where}: invalid config:\n  augment.multiCrop: framework ${config.framework.name} takes the two global views only; ` +
        "multi-crop is for a framework that takes local crops (swav): set it on those cells (a cell's config.augment.multiCrop)",
    );
  if (mc && config.data.stream)
    throw new Error(
      `${where}: invalid config:\n  augment.multiCrop: the streaming pipeline (data.stream) makes two views; drop one of them`,
    );
  if (config.optimizer.warmupEpochs > config.optimizer.epochs) {
    throw new Error(
      `${where}: invalid config:\n  optimizer.warmupEpochs: ${config.optimizer.warmupEpochs} exceeds optimizer.epochs ` +
        `${config.optimizer.epochs}`,
    );
  }
  const hash = cellHash(config);
  // named by the config alone, so that suites sharing a cell (Table 4 and Fig. 7) share its run
  return { cell, config, hash, runDir: path.join(o.runsDir, o.preset, `${config.framework.name}-${slug(config.backbone.name)}-${hash}`) };
}

const pct = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(1) : 'n/a');

/**
 * A finished cell's result with its linear probe (cached beside the weights, or run now); a
 * diverged cell has none.
 */
export async function withProbe(
  suite: Suite,
  rc: ResolvedCell,
  r: PretrainResult,
  o: Pick<SuiteRunOptions, 'preset' | 'registry' | 'quiet' | 'evaluators'>,
): Promise<ProbedResult> {
  if (r.flags.diverged) return r;
  let bar: Progress | undefined;
  const probe = await probeCell(r.config, r.hash, rc.runDir, {
    preset: o.preset,
    registry: o.registry,
    onProgress: o.quiet
      ? undefined
      : (done, total, values) => {
          bar ??= new Progress({ total, label: `${suite.name} ${o.preset} ${rc.cell.id}: linear probe` });
          bar.update(done, values?.top1 === undefined ? {} : { top1: values.top1 });
        },
  });
  bar?.done();
  const specs = suiteEvaluators(suite, o);
  if (!specs.length) return { ...r, probe };
  const evaluations = await evaluateCell(r.config, r.hash, rc.runDir, specs, {
    registry: o.registry,
    onProgress: o.quiet
      ? undefined
      : (name) => {
          let b: Progress | undefined;
          return (done, total, values) => {
            b ??= new Progress({ total, label: `${suite.name} ${o.preset} ${rc.cell.id}: ${name}` });
            b.update(done, values ?? {});
            if (done >= total) b.done();
          };
        },
  });
  return { ...r, probe, evaluations };
}

export async function runPretrainSuite(
  suite: Suite,
  o: SuiteRunOptions,
): Promise<{ table: ResultTable; results: ProbedResult[]; files: string[] }> {
  const log = o.log ?? ((l: string) => console.error(l));
  const cells = suite.cells.map((cell) => resolveCell(suite, cell, o));
  checkEvaluatorSpecs(suiteEvaluators(suite, o), o.registry, `suite ${suite.name}`);
  for (const rc of cells) adoptLegacyRunDir(rc.config, rc.runDir, log);
  const results: (ProbedResult | undefined)[] = cells.map(() => undefined);
  // cells another process is training (its lock on the run folder): the others first, then wait for these
  const busy: number[] = [];
  // a partial run's cells that are neither selected nor finished
  const notRun: number[] = [];
  // a partial run's ETA and count leave out the cells it will not run
  const skipped = o.only ? cells.filter((rc) => !isSelected(o.only, rc.cell) && !readResult(rc.runDir)).length : 0;
  const progress = suiteProgress(suite, o.preset, cells, log, cells.length - skipped);
  for (const [i, rc] of cells.entries()) {
    const cached = readResult(rc.runDir);
    if (cached) {
      checkEngine(`cell '${rc.cell.id}' (${rc.runDir}), finished earlier,`, recordedEngine(cached), o.allowEngineMix);
      log(`[${suite.name}/${o.preset}] ${rc.cell.id}: finished earlier (${rc.runDir}), skipped`);
      results[i] = progress.finished(i, await withProbe(suite, rc, cached, o), false);
      continue;
    }
    if (!isSelected(o.only, rc.cell)) {
      log(`[${suite.name}/${o.preset}] ${rc.cell.id}: not selected by --cells and not finished: not run`);
      notRun.push(i);
      continue;
    }
    const owner = lockOwner(rc.runDir);
    if (owner) {
      log(
        `[${suite.name}/${o.preset}] ${rc.cell.id}: being trained by pid ${owner.pid} on ${owner.host} (${rc.runDir}/${LOCK_FILE}); ` +
          'going on with the other cells, then waiting for it',
      );
      busy.push(i);
      continue;
    }
    results[i] = progress.finished(i, await trainAndProbe(suite, rc, o, log, progress.label(i)), true);
  }
  for (const i of busy) {
    const rc = cells[i];
    log(`[${suite.name}/${o.preset}] ${rc.cell.id}: waiting for the other process to finish it`);
    while (lockOwner(rc.runDir)) await new Promise((r) => setTimeout(r, 2000));
    const cached = readResult(rc.runDir);
    if (cached) log(`[${suite.name}/${o.preset}] ${rc.cell.id}: finished by the other process`);
    // the other process stopped without finishing: resume the cell here from its checkpoint
    results[i] = progress.finished(
      i,
      cached ? await withProbe(suite, rc, cached, o) : await trainAndProbe(suite, rc, o, log, progress.label(i)),
      !cached,
    );
  }
  const measured = cells.flatMap((rc, i) => (results[i] ? [{ rc, r: results[i] }] : []));
  const stored = measured.map(({ rc, r }) => ({
    id: rc.cell.id,
    ...(rc.cell.arm ? { arm: rc.cell.arm } : {}),
    ...r,
    runDir: path.relative(process.cwd(), rc.runDir),
    weights: path.relative(process.cwd(), r.weights),
  }));
  const baselines = await suiteBaselines(
    measured.map(({ rc }) => ({ id: rc.cell.id, config: rc.config })),
    { preset: o.preset, runsDir: o.runsDir, registry: o.registry, log },
  );
  const notRunCells = notRun.map((i) => ({ id: cells[i].cell.id, ...(cells[i].cell.arm ? { arm: cells[i].cell.arm } : {}) }));
  return {
    ...writePretrainOutputs(suite, o.preset, o.resultsDir, stored, [], baselines, notRunCells),
    results: measured.map(({ r }) => r),
  };
}

/** Pre-trains one cell (resuming it) and probes it; a cell another process took meanwhile is waited for. */
async function trainAndProbe(
  suite: Suite,
  rc: ResolvedCell,
  o: SuiteRunOptions,
  log: (l: string) => void,
  label: string,
): Promise<ProbedResult> {
  log(
    `[${suite.name}/${o.preset}] ${rc.cell.id}: ${rc.config.backbone.name} on ${rc.config.data.dataset}, config ${rc.hash} -> ` +
      `${rc.runDir}`,
  );
  let bar: Progress | undefined;
  // a run stopped early (--max-iters) still ends its progress line: where it stopped, how long it took
  const r = await pretrain(rc.config, {
    runDir: rc.runDir,
    registry: o.registry,
    // taken by another process after the check: wait for it rather than fail
    lockWaitMs: Number.POSITIVE_INFINITY,
    allowEngineMix: o.allowEngineMix,
    maxIters: o.maxIters,
    dataWorkers: o.dataWorkers,
    snapshotEpochs: o.snapshotEpochs,
    onProgress: o.quiet
      ? undefined
      : (p) => {
          // the loop's start event makes the bar (its clock starts there); each step then updates it
          bar ??= new Progress({ total: p.totalIters, label, startAt: p.startIter });
          if (p.iter > p.startIter)
            bar.update(p.iter, { loss: p.loss, lr: p.lr, ...(p.knn === undefined ? {} : { knn: `${pct(p.knn)}%` }) });
        },
  }).finally(() => bar?.done());
  return await withProbe(suite, rc, r, o);
}

const clock = (s: number) => {
  const m = Math.round(s / 60);
  return m >= 60 ? `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min` : `${m} min`;
};

/**
 * The suite's progress: `cell k/N` on each cell's bar, and a line per finished cell with its numbers
 * and the suite's ETA (the mean training time of the cells trained so far, times the cells left of
 * the `measured` ones: a partial run's cells not run are not waited for).
 */
function suiteProgress(suite: Suite, preset: string, cells: ResolvedCell[], log: (l: string) => void, measured: number) {
  const n = cells.length;
  let done = 0;
  let trained = 0;
  let trainedSeconds = 0;
  return {
    label: (i: number) => `${suite.name} ${preset} cell ${i + 1}/${n} ${cells[i].cell.id}`,
    finished(i: number, r: ProbedResult, trainedNow: boolean): ProbedResult {
      done++;
      if (trainedNow) {
        trained++;
        trainedSeconds += r.wallSeconds;
      }
      const left = Math.max(0, measured - done);
      const eta = left && trained ? `; ETA ~${clock((trainedSeconds / trained) * left)} for the ${left} left` : '';
      const probe = r.probe ? `probe ${pct(r.probe.top1)}%, ` : '';
      log(
        `[${suite.name}/${preset}] cell ${i + 1}/${n} ${cells[i].cell.id}: ${r.flags.diverged ? 'diverged, ' : ''}${probe}kNN ${pct(r.final.knn)}%, ` +
          `${r.wallSeconds.toFixed(0)} s of training${trainedNow ? '' : ' (earlier)'}; suite ${done}/${measured} done${eta}`,
      );
      return r;
    },
  };
}

/**
 * Runs a suite whose cells evaluate a backbone after pre-training: `linear` (Table 1: the linear
 * probe) and `transfer` (Table 5: end-to-end fine-tuning on another data set). Each measured cell
 * pre-trains its backbone as a pre-training suite would (same config resolution, same run folders,
 * so a backbone pre-trained by any suite is reused), or starts from the backbone's seeded random
 * init (`init: "random"`), then evaluates it; the evaluation's result is cached beside the run.
 * Transfer cells build the DeiT / timm ViT of the official transfer path instead
 * (evaluators/finetune.ts `transferBackboneOptions`): every parameter trainable, and at random
 * init a from-scratch DeiT ViT rather than the pre-training ViT's init.
 * Reference cells (`reference: true`) show the paper's numbers and run nothing; so does a cell
 * whose backbone has no stand-in at the preset, with the reason. The table and page are
 * report/eval-tables.ts'.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Suite, SuiteCell } from '../suites/schema.ts';
import type { Registry } from '../container/container.ts';
import type { ResultTable } from '../report/table.ts';
import type { BackboneOptions } from '../core/config.ts';
import type { Backbone } from '../backbones/backbone.ts';
import type { ImageSet } from '../data/image-set.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';
import type { EvalCellResult } from '../report/suite-results.ts';
import { type EvalTableBuilder, writeEvalOutputs } from '../report/eval-tables.ts';
import { loadWeights } from '../engine/weights.ts';
import { Progress } from '../core/progress.ts';
import type { LinearProbeResult } from '../evaluators/linear-probe.ts';
import { runEvaluator } from '../evaluators/evaluator.ts';
import { linearProbeConfig, transferConfig, type TransferConfig } from '../recipes/evaluation.ts';
import { FINETUNE_PROTOCOL, transferBackboneOptions, type FinetuneResult } from '../evaluators/finetune.ts';
import { transferStandin } from '../data/transfer-standins.ts';
import type { DatasetSource, TransferSpec } from '../data/sources.ts';
import { canonicalJson, type PretrainConfig } from '../core/config.ts';
import { cellHash } from './cell-hash.ts';
import { resolveCell, type SuiteRunOptions } from './pretrain-suite.ts';
import { pretrain } from './pretrain.ts';
import { createHash } from 'node:crypto';

const pct = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? (100 * x).toFixed(1) : 'n/a');
const hashOf = (v: unknown) => createHash('sha256').update(canonicalJson(v)).digest('hex').slice(0, 12);

function readJson<T>(file: string): T | undefined {
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as T) : undefined;
}

/**
 * The backbone of a cell: pre-trained (its suite run reused or run now) or at its seeded init.
 * `extra` build options go over the pre-training config's (the transfer path's DeiT build).
 */
async function cellBackbone(
  cell: SuiteCell,
  config: PretrainConfig,
  runDir: string,
  o: SuiteRunOptions,
  log: (l: string) => void,
  extra: BackboneOptions = {},
): Promise<{ backbone: Backbone; knn?: number; dir: string }> {
  const reg = o.registry;
  const { name, ...opts } = config.backbone;
  const backbone = reg.backbone(name).build(name, { ...opts, ...extra, imageSize: config.data.viewSize }, config.seed);
  if ((cell.init ?? 'pretrained') === 'random') {
    const dir = path.join(o.runsDir, o.preset, `random-${name.replace(/[^a-z0-9]+/gi, '-')}-${cellHash(config)}`);
    return { backbone, dir };
  }
  let bar: Progress | undefined;
  const r = await pretrain(config, {
    runDir,
    registry: reg,
    allowEngineMix: o.allowEngineMix,
    onProgress: o.quiet
      ? undefined
      : (p) => {
          bar ??= new Progress({ total: p.totalIters, label: `pre-train ${cell.id}`, startAt: p.startIter });
          if (p.iter > p.startIter) bar.update(p.iter, { loss: p.loss, lr: p.lr });
        },
  });
  bar?.done();
  if (r.flags.diverged)
    throw new Error(`${cell.id}: pre-training diverged at iteration ${(r.flags.divergedAt ?? 0) + 1}; nothing to evaluate`);
  loadWeights(backbone, r.weights);
  log(`[${cell.id}] pre-trained backbone ${r.weights} (kNN ${pct(r.final.knn)}%)`);
  return { backbone, knn: r.final.knn, dir: runDir };
}

async function datasetOf(config: PretrainConfig, reg: Registry): Promise<{ train: ImageSet; test: ImageSet }> {
  return await reg.datasets.get(config.data.dataset).load(config.data, config.seed);
}

/** One measured linear-probe cell (cached in the backbone's run folder). */
/** One measured linear-probe cell (Table 1): the pre-trained (or random-init) backbone, probed. */
export async function linearCell(cell: SuiteCell, o: SuiteRunOptions, suite: Suite, log: (l: string) => void): Promise<EvalCellResult> {
  const rc = resolveCell(suite, cell, o);
  const probeCfg = linearProbeConfig(
    o.preset,
    rc.config.backbone.name,
    (cell.scaled?.[o.preset] as { probe?: Record<string, unknown> } | undefined)?.probe,
  );
  const key = hashOf({
    probe: probeCfg,
    data: rc.config.data,
    init: cell.init ?? 'pretrained',
    backbone: rc.config.backbone,
    seed: rc.config.seed,
    pretrain: rc.hash,
  });
  const { backbone, knn, dir } = await cellBackbone(cell, rc.config, rc.runDir, o, log);
  const file = path.join(dir, `linear-probe-${key}.json`);
  try {
    const cached = readJson<LinearProbeResult>(file);
    if (cached) {
      log(`[${cell.id}] linear probe finished earlier (${file}), skipped`);
      return {
        id: cell.id,
        status: 'measured',
        top1: cached.top1,
        backbone: rc.config.backbone.name,
        init: cell.init ?? 'pretrained',
        pretrainKnn: knn,
        detail: cached,
      };
    }
    const { train, test } = await datasetOf(rc.config, o.registry);
    let bar: Progress | undefined;
    const { details } = await runEvaluator(
      o.registry.linearProbe(),
      {
        backbone,
        train,
        test,
        view: { viewSize: rc.config.data.viewSize, cropFraction: rc.config.data.evalCropFraction },
        seed: rc.config.seed + 1,
        onProgress: o.quiet
          ? undefined
          : (done, total, values) => {
              bar ??= new Progress({ total, label: `linear probe ${cell.id}` });
              bar.update(done, values ?? {});
            },
      },
      probeCfg,
      `suite ${suite.name}, cell '${cell.id}': probe`,
    );
    const r = details!;
    bar?.done();
    writeFileAtomic(file, `${JSON.stringify(r, null, 2)}\n`);
    return {
      id: cell.id,
      status: 'measured',
      top1: r.top1,
      backbone: rc.config.backbone.name,
      init: cell.init ?? 'pretrained',
      pretrainKnn: knn,
      detail: r,
    };
  } finally {
    backbone.dispose();
  }
}

/** The target data: the real set under --data-root (its descriptor's folder), or (small presets only) its synthetic stand-in. */
async function transferData(
  t: TransferConfig,
  target: DatasetSource & { transfer: TransferSpec },
  config: PretrainConfig,
  o: SuiteRunOptions,
): Promise<{ train: ImageSet; test: ImageSet; source: string }> {
  if (o.dataRoot) {
    const dir = path.join(o.dataRoot, target.transfer.folder);
    const d = {
      dataset: t.dataset,
      path: dir,
      trainCount: t.trainCount,
      testCount: t.testCount,
      viewSize: config.data.viewSize,
      evalCropFraction: config.data.evalCropFraction,
    };
    const sets = await target.load(d as PretrainConfig['data'], config.seed);
    return { ...sets, source: dir };
  }
  if (o.preset === 'paper')
    throw new Error(
      `transfer to ${t.dataset}: --data-root DIR is needed at preset paper (DIR/${target.transfer.folder}: ${target.transfer.layout})`,
    );
  return {
    ...transferStandin(t.dataset, target.transfer.standin, t.trainCount ?? 2000, t.testCount ?? 1000),
    source: 'synthetic stand-in',
  };
}

/** The registered data set a transfer cell names, which must be a transfer target. */
function transferTarget(name: string, registry: Registry): DatasetSource & { transfer: TransferSpec } {
  const source = registry.datasets.get(name);
  if (!source.transfer) {
    const targets = registry.datasets
      .all()
      .filter((s) => s.transfer)
      .map((s) => s.name);
    throw new Error(`transfer.dataset: '${name}' is not a transfer data set; transfer data sets: ${targets.join(', ')}`);
  }
  return source as DatasetSource & { transfer: TransferSpec };
}

/** One measured fine-tuning cell (the backbone is trained: it is built fresh for the cell). */
export async function transferCell(cell: SuiteCell, o: SuiteRunOptions, suite: Suite, log: (l: string) => void): Promise<EvalCellResult> {
  const rc = resolveCell(suite, cell, o);
  const over = {
    ...((cell.transfer ?? {}) as Record<string, unknown>),
    ...(((cell.scaled?.[o.preset] as { transfer?: object } | undefined)?.transfer ?? {}) as Record<string, unknown>),
  };
  const { dataset, ...rest } = over as { dataset?: string };
  if (!dataset) throw new Error(`suite ${suite.name}, cell '${cell.id}': transfer.dataset is required`);
  const target = transferTarget(dataset, o.registry);
  const t = transferConfig(o.preset, target, rest);
  const init = cell.init ?? 'pretrained';
  // the DeiT / timm ViT of the official transfer path: every parameter trains; random init = from-scratch DeiT ViT
  const build = transferBackboneOptions(init, t.dropPath);
  const key = hashOf({
    transfer: t,
    protocol: FINETUNE_PROTOCOL,
    build,
    root: o.dataRoot ?? 'standin',
    init,
    backbone: rc.config.backbone,
    seed: rc.config.seed,
    pretrain: rc.hash,
  });
  const { backbone, knn, dir } = await cellBackbone(cell, rc.config, rc.runDir, o, log, build);
  const file = path.join(dir, `finetune-${t.dataset}-${key}.json`);
  try {
    const cached = readJson<FinetuneResult & { source: string }>(file);
    if (cached) {
      log(`[${cell.id}] fine-tuning finished earlier (${file}), skipped`);
      return {
        id: cell.id,
        status: 'measured',
        top1: cached.top1 / 100,
        backbone: rc.config.backbone.name,
        init: cell.init ?? 'pretrained',
        pretrainKnn: knn,
        detail: cached,
      };
    }
    const { train, test, source } = await transferData(t, target, rc.config, o);
    log(
      `[${cell.id}] fine-tuning on ${t.dataset} (${source}: ${train.count} / ${test.count} images, ${train.numClasses} classes), ` +
        `${t.epochs} epochs`,
    );
    let bar: Progress | undefined;
    const r = await o.registry.finetuners.get('finetune').evaluate(backbone, train, test, {
      ...t,
      seed: rc.config.seed + 2,
      viewSize: rc.config.data.viewSize,
      cropFraction: rc.config.data.evalCropFraction,
      onEpoch: o.quiet
        ? undefined
        : (p) => {
            bar ??= new Progress({ total: t.epochs, label: `fine-tune ${cell.id}` });
            bar.update(p.epoch, { loss: p.loss, top1: `${p.top1.toFixed(1)}%` });
          },
    });
    bar?.done();
    const out = {
      ...r,
      source,
      trainImages: train.count,
      testImages: test.count,
      classes: train.numClasses,
      config: t,
      protocol: FINETUNE_PROTOCOL,
      build,
    };
    writeFileAtomic(file, `${JSON.stringify(out, null, 2)}\n`);
    return {
      id: cell.id,
      status: 'measured',
      top1: r.top1 / 100,
      backbone: rc.config.backbone.name,
      init: cell.init ?? 'pretrained',
      pretrainKnn: knn,
      detail: out,
    };
  } finally {
    backbone.dispose();
  }
}

/** How an evaluation suite's kind measures one cell (linearCell, transferCell). */
export type EvalCellRunner = (cell: SuiteCell, o: SuiteRunOptions, suite: Suite, log: (l: string) => void) => Promise<EvalCellResult>;

/**
 * Runs an evaluation suite: reference rows are kept as the paper's, cells without a stand-in at
 * the preset are skipped with the reason, the others measured by `runCell`; then `table` lays
 * the results out (the suite's kind gives both, kinds/).
 */
export async function runEvalSuite(
  suite: Suite,
  o: SuiteRunOptions,
  runCell: EvalCellRunner,
  table: EvalTableBuilder,
): Promise<{ table: ResultTable; files: string[] }> {
  const log = o.log ?? ((l: string) => console.error(l));
  const results: EvalCellResult[] = [];
  for (const cell of suite.cells) {
    if (cell.reference) {
      results.push({ id: cell.id, status: 'reference' });
      continue;
    }
    try {
      resolveCell(suite, cell, o);
    } catch (err) {
      const msg = (err as Error).message;
      if (!/has no stand-in/.test(msg)) throw err;
      log(`[${suite.name}/${o.preset}] ${cell.id}: not run (${msg.split(';')[0]})`);
      results.push({ id: cell.id, status: 'skipped', reason: `not run at preset ${o.preset}: no stand-in for its backbone` });
      continue;
    }
    log(`[${suite.name}/${o.preset}] ${cell.id}`);
    results.push(await runCell(cell, o, suite, log));
  }
  return writeEvalOutputs(suite, o.preset, o.resultsDir, results, table);
}

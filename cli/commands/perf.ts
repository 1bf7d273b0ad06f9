/**
 * `bench perf`: throughput on the backend in use. With --config NAME, a whole training step of a
 * named configuration (bench/perf-configs.ts); with --backbone, a backbone's forward and
 * forward+backward.
 */
import { Command, Option } from 'commander';
import { Registry } from '../../container/container.ts';
import { measureBackbone } from '../../bench/perf.ts';
import { measureTrainStep } from '../../bench/train-perf.ts';
import { PERF_CONFIGS } from '../../bench/perf-configs.ts';
import { measureDataPipeline } from '../../bench/data-perf.ts';
import { measurePeaks } from '../../bench/peak.ts';
import { setPrecision } from '../../engine/backend.ts';
import type { Precision } from '../../engine/kernels/gemm-route.ts';
import {
  type BackboneFlags,
  type EngineFlags,
  backboneOptionsFrom,
  initEngine,
  intOption,
  precisionOption,
  withBackboneOptions,
  withEngineOptions,
} from '../options.ts';

interface PerfFlags extends BackboneFlags, EngineFlags {
  config?: string;
  data?: string;
  workers?: number;
  viewSize: number;
  onCorrupt: 'skip' | 'stop';
  backbone: string;
  batch?: number;
  iters: number;
  chunk?: number;
  top: number;
  precision: Precision;
}

export function perfCommand(): Command {
  return withEngineOptions(
    withBackboneOptions(
      new Command('perf')
        .description('print training-step or backbone throughput (images/s, GFLOP/s, time per kernel, tensor count)')
        .option('--config <name>', `a named training step: ${Object.keys(PERF_CONFIGS).join(' | ')}`)
        .option('--data <dir>', 'instead: the streaming pre-training pipeline alone on an ImageFolder (decode, two crops per image)')
        .option('--workers <n>', 'with --data: decode worker threads (default: the CPUs)', intOption('--workers', 1))
        .option('--view-size <n>', 'with --data: side of the views, pixels', intOption('--view-size', 1), 224)
        .addOption(
          new Option('--on-corrupt <what>', 'with --data: a file that does not decode stops the run, or is named once and skipped')
            .choices(['stop', 'skip'])
            .default('stop'),
        )
        .option('--backbone <name>', 'backbone (without --config)', 'vit-tiny')
        .option('--image-size <n>', 'input image size (default: the backbone default)', intOption('--image-size', 1))
        .option('--batch <n>', "batch size (default: the config's, or 32)", intOption('--batch', 2))
        .option(
          '--chunk <n>',
          'with --config: cached-gradient training, the backbone this many images at a time (optimizer.chunk); prints the peak',
          intOption('--chunk', 1),
        )
        .option(
          '--iters <n>',
          'timed iterations after the warm-up ones (the first steps grow the heap and touch fresh pages)',
          intOption('--iters', 1),
          8,
        )
        .option('--top <n>', 'kernels listed in the time share', intOption('--top', 1), 12)
        .addOption(precisionOption('the step')),
    ),
  ).action(async (o: PerfFlags) => {
    if (o.data) {
      const batches = o.iters;
      const r = await measureDataPipeline(o.data, {
        batch: o.batch ?? 64,
        viewSize: o.viewSize,
        workers: o.workers,
        batches,
        onCorrupt: o.onCorrupt,
      });
      console.log(`data pipeline: ${o.data}: ${r.files} files, ${r.classes} classes; ${r.workers} decode worker(s)`);
      console.log(
        `  ${r.imagesPerSec.toFixed(1).padStart(8)} images/s (two ${o.viewSize} px views each), ${r.batches} batches of ${r.batch}` +
          ` after one warm-up; ${(r.batchBytes / 2 ** 20).toFixed(1)} MiB per batch held`,
      );
      if (r.skipped.length) console.log(`  skipped ${r.skipped.length} file(s) that do not decode: ${r.skipped.slice(0, 3).join(', ')}`);
      return;
    }
    const b = await initEngine(o);
    const engine =
      `backend ${b.name}${b.gpu ? ' (GPU)' : ''}, ` +
      `${b.native.kernels.length ? `native GEMM x${b.native.threads} thread(s)` : 'stock kernels'}`;
    const registry = new Registry();
    if (o.chunk !== undefined && !o.config) throw new Error('--chunk: needs --config (a training step)');
    if (o.config) {
      const cfg = PERF_CONFIGS[o.config];
      if (!cfg) throw new Error(`--config: unknown config '${o.config}'; known: ${Object.keys(PERF_CONFIGS).join(', ')}`);
      const batch = o.batch ?? cfg.batch;
      // the peak first, on idle cores, before the step's threads and heap exist
      const peaks = b.native.kernels.length ? measurePeaks() : undefined;
      setPrecision(o.precision);
      let r: Awaited<ReturnType<typeof measureTrainStep>>;
      try {
        r = await measureTrainStep(cfg, batch, o.iters, registry, o.chunk);
      } finally {
        setPrecision('fp32');
      }
      console.log(`${o.config}: ${cfg.title}`);
      console.log(
        `batch ${batch}${o.chunk ? ` in chunks of ${o.chunk}` : ''}, ${engine}, precision ${o.precision}` +
          `${o.precision === 'bf16' ? ' (the products of the linear layers and attention)' : ''}`,
      );
      if (b.native.gemm) console.log(`  GEMM        ${b.native.gemm}`);
      console.log(
        peaks
          ? `  peak        fp32 ${peaks.fp32.gflops.toFixed(1)} GFLOP/s, bf16 ${peaks.bf16 ? `${peaks.bf16.gflops.toFixed(1)} GFLOP/s` : 'none (no oneDNN)'}` +
              ` (GEMM ${peaks.size}^3, ${peaks.threads} thread(s); ${peaks.routes.map((p) => `${p.route} ${p.gflops.toFixed(1)}`).join(', ')})`
          : '  peak        not measured: no native GEMM (the stock kernels are not a peak)',
      );
      const peak = o.precision === 'bf16' ? peaks?.bf16 : peaks?.fp32;
      console.log(
        `  train step  ${r.stepImgPerSec.toFixed(1).padStart(8)} images/s  ${r.stepGflops.toFixed(1).padStart(7)} GFLOP/s  ` +
          `(${(r.macsPerImageStep / 1e9).toFixed(3)} GMACs per image per step` +
          `${peak ? `; ${((100 * r.stepGflops) / peak.gflops).toFixed(0)} % of the ${o.precision} peak` : ''})`,
      );
      console.log(`  forward     ${r.forwardImgPerSec.toFixed(1).padStart(8)} images/s  (backbone, eval mode)`);
      console.log(`  peak tensor memory  ${(r.peakBytes / 2 ** 20).toFixed(0)} MiB in one step (tf.profile: tensors alive at once)`);
      console.log(`  live tensors: ${r.tensorsAfter.map((t) => `${t.tensors} after step ${t.step}`).join(', ')}`);
      console.log('  time per kernel (one profiled step):');
      for (const k of r.kernelShare.slice(0, o.top))
        console.log(`    ${k.kernel.padEnd(22)} ${k.ms.toFixed(1).padStart(9)} ms  ${(100 * k.share).toFixed(1).padStart(5)} %`);
      return;
    }
    const model = registry.backbone(o.backbone).build(o.backbone, backboneOptionsFrom(o), 0);
    setPrecision(o.precision);
    let r: Awaited<ReturnType<typeof measureBackbone>>;
    try {
      r = await measureBackbone(model, o.batch ?? 32, o.iters);
    } finally {
      setPrecision('fp32');
    }
    console.log(`backbone ${o.backbone}, ${model.imageSize}px, batch ${r.batch}, ${engine}, precision ${o.precision}`);
    console.log(`  ${(r.macsPerImage / 1e9).toFixed(3)} GMACs per image`);
    console.log(
      `  forward          ${r.forwardImgPerSec.toFixed(1).padStart(9)} images/s  ${r.forwardGflops.toFixed(2).padStart(8)} GFLOP/s`,
    );
    console.log(`  forward+backward ${r.trainImgPerSec.toFixed(1).padStart(9)} images/s  ${r.trainGflops.toFixed(2).padStart(8)} GFLOP/s`);
    console.log(`  peak live tensors during a training step: ${r.peakTensors}`);
  });
}

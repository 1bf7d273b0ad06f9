/** `bench perf`: forward and forward+backward throughput of a backbone on the backend in use. */
import { Command } from 'commander';
import { Registry } from '../../container/container.ts';
import { initBackend, parseBackendChoice } from '../../engine/backend.ts';
import { measureBackbone } from '../../bench/perf.ts';
import { BACKEND_FLAG, BackboneFlags, backboneOptionsFrom, intOption, withBackboneOptions } from '../options.ts';

export function perfCommand(): Command {
  return withBackboneOptions(
    new Command('perf')
      .description('print forward and forward+backward images/s and GFLOP/s of a backbone')
      .option('--backbone <name>', 'backbone', 'vit-tiny')
      .option('--image-size <n>', 'input image size (default: the backbone default)', intOption('--image-size', 1))
      .option('--batch <n>', 'batch size', intOption('--batch', 1), 32)
      .option('--iters <n>', 'timed iterations after one warm-up', intOption('--iters', 1), 3)
      .option(...BACKEND_FLAG),
  ).action(async (o: BackboneFlags & { backbone: string; batch: number; iters: number; backend: string }) => {
    const b = await initBackend(parseBackendChoice(o.backend));
    const model = new Registry().backbone(o.backbone).build(o.backbone, backboneOptionsFrom(o), 0);
    const r = measureBackbone(model, o.batch, o.iters);
    console.log(`backbone ${o.backbone}, ${model.imageSize}px, batch ${o.batch}, backend ${b.name}${b.gpu ? ' (GPU)' : ''}`);
    console.log(`  ${(r.macsPerImage / 1e9).toFixed(3)} GMACs per image`);
    console.log(`  forward          ${r.forwardImgPerSec.toFixed(1).padStart(9)} images/s  ${r.forwardGflops.toFixed(2).padStart(8)} GFLOP/s`);
    console.log(`  forward+backward ${r.trainImgPerSec.toFixed(1).padStart(9)} images/s  ${r.trainGflops.toFixed(2).padStart(8)} GFLOP/s`);
    console.log(`  peak live tensors during a training step: ${r.peakTensors}`);
  });
}

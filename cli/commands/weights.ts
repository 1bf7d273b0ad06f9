/** `bench weights`: write a backbone's seeded random init as safetensors (timm names and layouts). */
import { Command } from 'commander';
import { Registry } from '../../container/container.ts';
import { saveWeights } from '../../engine/weights.ts';
import {
  type BackboneFlags,
  type EngineFlags,
  backboneOptionsFrom,
  initEngine,
  intOption,
  withBackboneOptions,
  withEngineOptions,
} from '../options.ts';

export function weightsCommand(): Command {
  return withEngineOptions(
    withBackboneOptions(
      new Command('weights')
        .description("write a backbone's seeded random init as a safetensors state dict (PyTorch names)")
        .requiredOption('--backbone <name>', 'backbone, e.g. vit-s/16')
        .requiredOption('--out <file>', 'output .safetensors file')
        .option('--image-size <n>', 'input image size', intOption('--image-size', 1))
        .option('--seed <n>', 'init seed', intOption('--seed'), 0),
    ),
  ).action(async (o: BackboneFlags & EngineFlags & { backbone: string; out: string; seed: number }) => {
    await initEngine(o);
    const model = new Registry().backbone(o.backbone).build(o.backbone, backboneOptionsFrom(o), o.seed);
    await saveWeights(model, o.out, { backbone: o.backbone, seed: String(o.seed) });
    console.log(`wrote ${model.torchEntries().length} tensors (${model.numParameters().toLocaleString('en-US')} parameters) to ${o.out}`);
  });
}

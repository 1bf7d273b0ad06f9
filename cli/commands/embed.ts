/**
 * `bench embed`: run a backbone in eval mode on an NCHW float32 tensor `images` from a safetensors
 * file and write its features as `features` [B, D].
 */
import { backboneEstimate, checkMemory, gib, imageBytes } from '../../runner/memory-check.ts';
import { Command } from 'commander';
import { Registry } from '../../container/container.ts';
import { readSafetensors, toFloat32, writeSafetensors } from '../../engine/safetensors.ts';
import { loadWeights } from '../../engine/weights.ts';
import { tf } from '../../engine/tf.ts';
import {
  type BackboneFlags,
  type EngineFlags,
  backboneOptionsFrom,
  initEngine,
  intOption,
  withBackboneOptions,
  withEngineOptions,
} from '../options.ts';

interface EmbedFlags extends BackboneFlags, EngineFlags {
  backbone: string;
  weights?: string;
  prefix?: string;
  ignoreHead?: boolean;
  input: string;
  out: string;
  seed: number;
  batch: number;
}

export function embedCommand(): Command {
  return withEngineOptions(
    withBackboneOptions(
      new Command('embed')
        .description('write backbone features of the NCHW images in a safetensors file')
        .requiredOption('--backbone <name>', 'backbone, e.g. vit-s/16')
        .option('--weights <file>', 'backbone weights (.safetensors, timm names); default: seeded random init')
        .option('--prefix <prefix>', "with --weights: the tensors' name prefix to strip, e.g. module.base_encoder. (official MoCo v3)")
        .option('--ignore-head', 'with --weights: leave out the classifier head (head.* / fc.*) of a timm or torchvision checkpoint')
        .requiredOption('--input <file>', "safetensors file with a float32 tensor 'images' [B, 3, H, W]")
        .requiredOption('--out <file>', "output safetensors file; gets 'features' [B, D]")
        .option('--seed <n>', 'seed of the random init when no --weights', intOption('--seed'), 0)
        .option('--batch <n>', 'images per forward pass', intOption('--batch', 1), 64),
    ),
  ).action(async (o: EmbedFlags) => {
    await initEngine(o);
    const st = readSafetensors(o.input);
    const t = st.tensors.get('images');
    if (!t) throw new Error(`${o.input}: no tensor 'images' (has: ${[...st.tensors.keys()].join(', ') || 'none'})`);
    if (t.shape.length !== 4 || t.shape[1] !== 3 || t.shape[2] !== t.shape[3]) {
      throw new Error(`${o.input}: tensor 'images' must be [B, 3, H, H] (NCHW, square), got [${t.shape.join(', ')}]`);
    }
    const [b, c, h, w] = t.shape;
    const data = toFloat32(t, 'images', o.input);
    const family = new Registry().backbone(o.backbone);
    const buildOpts = { ...backboneOptionsFrom(o), imageSize: h };
    const per0 = Math.min(o.batch, b);
    const act = backboneEstimate(family, o.backbone, buildOpts, per0, false);
    checkMemory(`bench embed: ${o.backbone} on ${per0} image(s) of ${h}x${w} per pass (--batch ${o.batch})`, {
      bytes: imageBytes(per0, h) * 2 + act.bytes,
      parts: [`input: ${gib(imageBytes(per0, h) * 2)}`, ...act.parts],
    });
    const model = family.build(o.backbone, buildOpts, o.seed);
    if (!o.weights && (o.prefix || o.ignoreHead)) throw new Error('--prefix and --ignore-head apply to --weights: give the weights file');
    if (o.weights) loadWeights(model, o.weights, { prefix: o.prefix, ignoreHead: o.ignoreHead });
    const out = new Float32Array(b * model.outDim);
    const per = c * h * w;
    for (let i = 0; i < b; i += o.batch) {
      const n = Math.min(o.batch, b - i);
      const feats = tf.tidy(() => {
        const x = tf.transpose(tf.tensor4d(data.subarray(i * per, (i + n) * per), [n, c, h, w]), [0, 2, 3, 1]) as tf.Tensor4D;
        return model.apply(x, false);
      });
      // asynchronous: the webgpu backend cannot read synchronously in Node
      out.set(await feats.data(), i * model.outDim);
      feats.dispose();
    }
    const nonFinite: number[] = [];
    for (let i = 0; i < b; i++) {
      if (!out.subarray(i * model.outDim, (i + 1) * model.outDim).every(Number.isFinite)) nonFinite.push(i);
    }
    if (nonFinite.length) {
      console.error(
        `warning: ${nonFinite.length} of ${b} feature rows hold NaN or infinite values (images ${nonFinite.slice(0, 10).join(', ')}` +
          `${nonFinite.length > 10 ? ', ...' : ''}): check the input's values (NCHW float32, normalised) and the weights`,
      );
    }
    writeSafetensors(o.out, new Map([['features', { dtype: 'F32', shape: [b, model.outDim], data: out }]]), {
      backbone: o.backbone,
      weights: o.weights ?? `random init, seed ${o.seed}`,
    });
    console.log(`wrote features [${b}, ${model.outDim}] to ${o.out}`);
  });
}

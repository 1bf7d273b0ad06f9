/**
 * Test helpers for the self-supervised frameworks: a build context with a tiny ViT (ViT-Micro/4 at
 * 16 px, built straight from the ViT family), a stateless SGD (so live-tensor counts stay flat
 * from the first step), training steps through the runner's TrainStep, and small float64 helpers
 * for hand computations.
 */
import { tf } from '../../engine/tf.ts';
import type { Param } from '../../engine/module.ts';
import { vitFamily } from '../../backbones/vit/index.ts';
import { buildFramework, type Framework, type FrameworkBuildContext } from '../../frameworks/framework.ts';
import type { Registry } from '../../container/container.ts';
import { buildOptimizer } from '../../optim/index.ts';
import { recipe } from '../../recipes/recipes.ts';
import type { Optimizer, OptimizerState } from '../../optim/optimizer.ts';
import { TrainStep } from '../../runner/train-step.ts';
import { twoViewSet } from '../../frameworks/framework.ts';

export const MICRO = 'vit-micro/4';
export const IMAGE = 16;

export function microContext(seed = 0): FrameworkBuildContext {
  return {
    backboneName: MICRO,
    backboneOptions: { imageSize: IMAGE },
    seed,
    buildBackbone: (name, opts, s) => vitFamily('vit-micro').build(name, opts, s),
  };
}

export function randomViews(batch: number, seed: number): [tf.Tensor4D, tf.Tensor4D] {
  return [
    tf.randomNormal([batch, IMAGE, IMAGE, 3], 0, 1, 'float32', seed) as tf.Tensor4D,
    tf.randomNormal([batch, IMAGE, IMAGE, 3], 0, 1, 'float32', seed + 1) as tf.Tensor4D,
  ];
}

/** p <- p - lr g; no state. */
export class PlainSgd implements Optimizer {
  step(grads: Map<Param, tf.Tensor>, lr: number): void {
    tf.tidy(() => {
      for (const [p, g] of grads) p.variable.assign(tf.sub(p.variable, tf.mul(g, lr)));
    });
  }
  async stateTensors(): Promise<OptimizerState> {
    return new Map();
  }
  loadState(): void {}
  dispose(): void {}
}

/**
 * Runs iterations `from`..`from + n - 1` with the runner's TrainStep and plain SGD; returns each
 * step's loss and the live tensor count after it (the returned features disposed).
 */
export async function trainSteps(
  fw: Framework,
  v1: tf.Tensor4D,
  v2: tf.Tensor4D,
  n: number,
  opts: { from?: number; totalIters?: number; lr?: number } = {},
): Promise<{ losses: number[]; tensors: number[] }> {
  const step = new TrainStep(fw, new PlainSgd());
  const losses: number[] = [];
  const tensors: number[] = [];
  const from = opts.from ?? 0;
  for (let iter = from; iter < from + n; iter++) {
    const { loss, features } = await step.run(
      twoViewSet(v1, v2),
      { iter, totalIters: opts.totalIters ?? 10, itersPerEpoch: 1 },
      opts.lr ?? 0.05,
    );
    features.dispose();
    losses.push(loss);
    tensors.push(tf.memory().numTensors);
  }
  return { losses, tensors };
}

export const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
export const unit = (v: number[]) => v.map((x) => x / Math.hypot(...v));
export const rows = (t: tf.Tensor) => t.arraySync() as number[][];
export const snapshot = (params: Param[]) => params.map((p) => p.variable.dataSync().slice() as Float32Array);
export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/**
 * A framework x backbone pair of Table 4 built through the container with its recipe's framework
 * settings (heads shrunk: MLP 32, output 16; SwAV 8 prototypes, never frozen) and the recipe's
 * optimiser (LARS for R-50, AdamW for ViT), at `size` px, seed 3.
 */
export function recipePair(
  registry: Registry,
  fwName: string,
  backbone: string,
  size: number,
): { fw: Framework; opt: Optimizer; optimizerName: string } {
  const r = recipe(`${fwName}-${backbone.startsWith('resnet') ? 'r50' : 'vit'}`).config;
  const fw = buildFramework(
    registry.frameworks.get(fwName),
    { ...r.framework, mlpDim: 32, outDim: 16, ...(fwName === 'swav' ? { prototypes: 8, freezePrototypesEpochs: 0 } : {}) },
    {
      backboneName: backbone,
      backboneOptions: { imageSize: size },
      seed: 3,
      buildBackbone: (n, o, s) => registry.backbone(n).build(n, o, s),
    },
  );
  const opt = buildOptimizer(registry.optimizers.get(r.optimizer.name), fw.trainableParams(), r.optimizer);
  return { fw, opt, optimizerName: r.optimizer.name };
}

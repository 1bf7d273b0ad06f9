/**
 * One optimisation step of a self-supervised framework: the framework's no-gradient preparation
 * (e.g. MoCo's momentum update and keys), the loss under the gradient tape, the optimiser update.
 * Shared by the pre-training loop and the `bench perf` training benchmark. With a GradMonitor, the
 * monitored layers' gradient norms are read back in the same single (asynchronous) read as the loss.
 */
import { tf } from '../engine/tf.ts';
import type { Param } from '../engine/module.ts';
import type { Framework, StepContext, Views } from '../frameworks/framework.ts';
import { inChunks } from '../frameworks/views.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import type { GradMonitor } from '../evaluators/grad-monitor.ts';

export class TrainStep {
  private readonly vars: tf.Variable[];
  private readonly byVar: Map<string, Param>;

  /**
   * `chunk`: cached-gradient training (optimizer.chunk): the online backbone runs `chunk` images at
   * a time (see `chunkedGradients`); absent, or at least the batch: one pass.
   */
  constructor(
    private readonly fw: Framework,
    private readonly optimizer: Optimizer,
    private readonly chunk?: number,
  ) {
    const params = fw.trainableParams();
    this.vars = params.map((p) => p.variable);
    this.byVar = new Map(params.map((p) => [p.variable.name, p]));
    if (chunk !== undefined && !(fw.onlineViews && fw.headLoss))
      throw new Error(`optimizer.chunk: framework ${fw.name} does not split its loss into onlineViews and headLoss`);
  }

  /**
   * The step's loss, every trainable parameter's gradient (by variable name; those without one are
   * absent) and the first online view's backbone features, after the framework's `prepare` (which
   * this runs). Chunked when the batch exceeds `chunk`.
   */
  gradients(
    views: Views,
    ctx: StepContext,
  ): { value: tf.Scalar; grads: tf.NamedTensorMap; features: tf.Tensor2D; prepared: tf.TensorContainer } {
    const batch = views.global[0].shape[0];
    if (this.chunk !== undefined && this.chunk < batch) return this.chunkedGradients(views, { ...ctx, chunk: this.chunk });
    const prepared = this.fw.prepare(views, ctx);
    let features: tf.Tensor2D | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const out = this.fw.loss(views, prepared, ctx);
      features = tf.keep(out.features);
      return out.loss;
    }, this.vars);
    return { value, grads, features: features!, prepared };
  }

  /**
   * Cached gradients (Gao et al. 2021): (1) the online backbone's features of every view, `chunk`
   * images at a time, without gradient; (2) heads and loss on the whole batch of features, with the
   * gradient of the loss for the heads' parameters and for each feature; (3) per chunk, the backbone
   * again with gradient, pushing that chunk's feature gradient back (the gradient of
   * sum(features * dL/dfeatures)), summed over chunks. For a backbone whose images are independent
   * and with no drop-path, this is the whole batch's gradient up to summation order.
   */
  private chunkedGradients(
    views: Views,
    ctx: StepContext,
  ): { value: tf.Scalar; grads: tf.NamedTensorMap; features: tf.Tensor2D; prepared: tf.TensorContainer } {
    const fw = this.fw;
    const chunk = ctx.chunk!;
    const prepared = fw.prepare(views, ctx);
    const online = fw.onlineViews!(views);
    const slices = (n: number) =>
      Array.from({ length: Math.ceil(n / chunk) }, (_, i) => [i * chunk, Math.min(chunk, n - i * chunk)] as const);
    // (1) features without gradient
    const feats = online.map((v) => tf.tidy(() => inChunks(fw.backbone, v, true, chunk)));
    const backboneVars = new Set(fw.backbone.trainableParams().map((p) => p.variable.name));
    const headVars = this.vars.filter((v) => !backboneVars.has(v.name));
    const featVars = feats.map((f) => tf.variable(f, true));
    tf.dispose(feats);
    try {
      // (2) heads and loss on the whole batch
      let features: tf.Tensor2D | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const out = fw.headLoss!(featVars as tf.Variable<tf.Rank.R2>[] as unknown as tf.Tensor2D[], prepared, ctx);
        features = tf.keep(tf.clone(featVars[0]) as tf.Tensor2D);
        return out.loss;
      }, [...headVars, ...featVars]);
      const dFeat = featVars.map((f) => grads[f.name]);
      const out: tf.NamedTensorMap = Object.fromEntries(Object.entries(grads).filter(([k]) => !featVars.some((f) => f.name === k)));
      // (3) the backbone, chunk by chunk, with each chunk's feature gradient
      const bVars = this.vars.filter((v) => backboneVars.has(v.name));
      for (const [i, v] of online.entries()) {
        for (const [start, size] of slices(v.shape[0])) {
          const { value: dot, grads: g } = tf.variableGrads(() => {
            const f = fw.backbone.apply(tf.slice(v, [start, 0, 0, 0], [size, -1, -1, -1]), true);
            return tf.sum(tf.mul(f, tf.slice(dFeat[i], [start, 0], [size, -1]))) as tf.Scalar;
          }, bVars);
          dot.dispose();
          for (const [name, gr] of Object.entries(g)) {
            const prev = out[name];
            out[name] = prev ? tf.add(prev, gr) : gr;
            if (prev) tf.dispose([prev, gr]);
          }
        }
      }
      tf.dispose(dFeat);
      return { value, grads: out, features: features!, prepared };
    } finally {
      tf.dispose(featVars);
    }
  }

  /**
   * Runs the step; returns the loss and the first view's backbone features (the caller disposes
   * them), and with a `monitor` the L2 norm of each monitored layer's gradient by label (layers
   * without a gradient this step are absent). The views are not disposed.
   */
  async run(
    views: Views,
    ctx: StepContext,
    lr: number,
    monitor?: GradMonitor,
  ): Promise<{ loss: number; features: tf.Tensor2D; gradNorms?: Record<string, number>; nonFinite?: string }> {
    const { value, grads, features, prepared } = this.gradients(views, ctx);
    const g = monitor?.norms(grads);
    // the update is queued before the read, so a GPU works on it while the loss travels back
    this.optimizer.step(new Map(Object.entries(grads).map(([name, gr]) => [this.byVar.get(name)!, gr])), lr);
    // one readback: the loss, the sum of every trainable parameter after the update (non-finite as
    // soon as a gradient or an optimiser state was: the run stops there even with a finite loss),
    // then the norms
    const packed = tf.tidy(() => tf.concat([tf.reshape(value, [1]), tf.reshape(sumAll(this.vars), [1]), ...(g ? [g.norms] : [])]));
    const host = await packed.data();
    const loss = host[0];
    const gradNorms = g ? Object.fromEntries(g.labels.map((l, i) => [l, host[i + 2]])) : undefined;
    tf.dispose([value, prepared, packed]);
    if (g) tf.dispose(g.norms);
    tf.dispose(grads);
    const out = { loss, features, ...(gradNorms ? { gradNorms } : {}) };
    return Number.isFinite(host[1]) || !Number.isFinite(loss)
      ? out
      : { ...out, nonFinite: 'a parameter is not finite after the update (a non-finite gradient or optimiser state)' };
  }
}

/**
 * The sum of every element of `xs`, one scalar at a time (not one addN over them all: WebGPU's
 * kernels take a bounded number of input buffers). Call inside tf.tidy.
 */
function sumAll(xs: readonly tf.Tensor[]): tf.Scalar {
  let s = tf.sum(xs[0]) as tf.Scalar;
  for (let i = 1; i < xs.length; i++) s = tf.add(s, tf.sum(xs[i]));
  return s;
}

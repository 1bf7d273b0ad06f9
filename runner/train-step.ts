/**
 * One optimisation step of a self-supervised framework: the framework's no-gradient preparation
 * (e.g. MoCo's momentum update and keys), the loss under the gradient tape, the optimiser update.
 * Shared by the pre-training loop and the `bench perf` training benchmark. With a GradMonitor, the
 * monitored layers' gradient norms are read back in the same single (asynchronous) read as the loss.
 */
import { tf } from '../engine/tf.ts';
import type { Param } from '../engine/module.ts';
import type { Framework, StepContext, Views } from '../frameworks/framework.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import type { GradMonitor } from '../evaluators/grad-monitor.ts';

export class TrainStep {
  private readonly vars: tf.Variable[];
  private readonly byVar: Map<string, Param>;

  constructor(
    private readonly fw: Framework,
    private readonly optimizer: Optimizer,
  ) {
    const params = fw.trainableParams();
    this.vars = params.map((p) => p.variable);
    this.byVar = new Map(params.map((p) => [p.variable.name, p]));
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
    const prepared = this.fw.prepare(views, ctx);
    let features: tf.Tensor2D | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const out = this.fw.loss(views, prepared, ctx);
      features = tf.keep(out.features);
      return out.loss;
    }, this.vars);
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
    const out = { loss, features: features!, ...(gradNorms ? { gradNorms } : {}) };
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

/**
 * One optimisation step of a self-supervised framework: the framework's no-gradient preparation
 * (e.g. MoCo's momentum update and keys), the loss under the gradient tape, the optimiser update.
 * Shared by the pre-training loop and the `bench perf` training benchmark.
 */
import { tf } from '../engine/tf.ts';
import type { Param } from '../engine/module.ts';
import type { Framework, StepContext } from '../frameworks/framework.ts';
import type { Optimizer } from '../optim/optimizer.ts';

export class TrainStep {
  private readonly vars: tf.Variable[];
  private readonly byVar: Map<string, Param>;

  constructor(private readonly fw: Framework, private readonly optimizer: Optimizer) {
    const params = fw.trainableParams();
    this.vars = params.map((p) => p.variable);
    this.byVar = new Map(params.map((p) => [p.variable.name, p]));
  }

  /**
   * Runs the step; returns the loss and the first view's backbone features (the caller disposes
   * them). The views are not disposed.
   */
  run(v1: tf.Tensor4D, v2: tf.Tensor4D, ctx: StepContext, lr: number): { loss: number; features: tf.Tensor2D } {
    const prepared = this.fw.prepare(v1, v2, ctx);
    let features: tf.Tensor2D | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const out = this.fw.loss(v1, v2, prepared, ctx);
      features = tf.keep(out.features);
      return out.loss;
    }, this.vars);
    const loss = value.dataSync()[0];
    this.optimizer.step(new Map(Object.entries(grads).map(([name, g]) => [this.byVar.get(name)!, g])), lr);
    tf.dispose([value, ...prepared]);
    tf.dispose(grads);
    return { loss, features: features! };
  }
}

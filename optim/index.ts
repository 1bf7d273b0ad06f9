/** Optimisers by name, as the container registers them. */
import type { Param } from '../engine/module.ts';
import type { Optimizer } from './optimizer.ts';
import type { Checkpointable } from '../core/checkpoint.ts';
import { AdamW } from './adamw.ts';
import { Lars } from './lars.ts';
import { Lamb } from './lamb.ts';

/**
 * Options of `OptimizerFactory.build`. Only `weightDecay` is required; the others are optional
 * hyper-parameters (each optimiser's default when absent). Setting one an optimiser does not
 * have is an error naming it, so a misconfigured run fails instead of silently ignoring it.
 */
export interface OptimizerBuildOptions {
  weightDecay: number;
  /** AdamW, LAMB. */
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** LARS. */
  momentum?: number;
  trustCoefficient?: number;
}

export interface OptimizerFactory {
  readonly name: string;
  readonly title: string;
  build(params: Param[], opts: OptimizerBuildOptions): Optimizer & Checkpointable;
}

/** Throws when `opts` sets (not undefined) an option outside `allowed`. */
function onlyOptions(who: string, opts: OptimizerBuildOptions, allowed: (keyof OptimizerBuildOptions)[]): OptimizerBuildOptions {
  for (const [k, v] of Object.entries(opts)) {
    if (v !== undefined && !allowed.includes(k as keyof OptimizerBuildOptions)) throw new Error(`${who}: option '${k}' does not apply (options: ${allowed.join(', ')})`);
  }
  return opts;
}

export const adamwFactory: OptimizerFactory = {
  name: 'adamw',
  title: 'AdamW (decoupled weight decay, PyTorch semantics)',
  build: (params, opts) => new AdamW(params, onlyOptions('adamw', opts, ['weightDecay', 'beta1', 'beta2', 'eps'])),
};

export const larsFactory: OptimizerFactory = {
  name: 'lars',
  title: 'LARS (MoCo v3 official: momentum SGD with layer-wise trust ratio, ndim > 1 only)',
  build: (params, opts) => new Lars(params, onlyOptions('lars', opts, ['weightDecay', 'momentum', 'trustCoefficient'])),
};

export const lambFactory: OptimizerFactory = {
  name: 'lamb',
  title: 'LAMB (Adam with layer-wise trust ratio, ndim > 1 only, like LARS)',
  build: (params, opts) => new Lamb(params, onlyOptions('lamb', opts, ['weightDecay', 'beta1', 'beta2', 'eps'])),
};

/** Optimisers by name, as the container registers them. */
import type { Param } from '../engine/module.ts';
import type { Optimizer } from './optimizer.ts';
import type { Checkpointable } from '../runner/checkpoint.ts';
import { AdamW } from './adamw.ts';

export interface OptimizerFactory {
  readonly name: string;
  readonly title: string;
  build(params: Param[], opts: { weightDecay: number }): Optimizer & Checkpointable;
}

export const adamwFactory: OptimizerFactory = {
  name: 'adamw',
  title: 'AdamW (decoupled weight decay, PyTorch semantics)',
  build: (params, opts) => new AdamW(params, opts),
};

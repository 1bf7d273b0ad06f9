/** The optimisers' descriptors, as the container registers them. */
import { type Static, type TObject, Type } from '@sinclair/typebox';
import { type ConfigurablePlugin, ConfigSchema, parsePluginConfig } from '../core/plugin.ts';
import type { Param } from '../engine/module.ts';
import type { Optimizer } from './optimizer.ts';
import type { Checkpointable } from '../core/checkpoint.ts';
import { AdamW } from './adamw.ts';
import { Lars } from './lars.ts';
import { Lamb } from './lamb.ts';

/**
 * An optimiser's descriptor: its own hyper-parameters as a config schema (defaults = the
 * optimiser's), set in a config's `optimizer` section beside the common fields (name, lr, weight
 * decay, batch, schedule), and its factory. Setting a field the optimiser does not have is an error
 * naming it.
 */
export interface OptimizerPlugin<S extends TObject = TObject> extends ConfigurablePlugin<'optimizer', S> {
  build(params: Param[], weightDecay: number, options: Static<S>): Optimizer & Checkpointable;
}

export function defineOptimizer<S extends TObject>(plugin: Omit<OptimizerPlugin<S>, 'kind'>): OptimizerPlugin<S> {
  return { kind: 'optimizer', ...plugin };
}

/** The fields of a config's optimizer section that are not the optimiser's own. */
export const COMMON_OPTIMIZER_FIELDS = [
  'name',
  'baseLr',
  'weightDecay',
  'batch',
  'epochs',
  'warmupEpochs',
  'lrScaleDivisor',
  'chunk',
  'chunkBn',
] as const;

/** The optimiser's own fields of an optimizer section (defaults filled in, validated; errors name `optimizer.<field>`). */
export function optimizerOptions<S extends TObject>(plugin: OptimizerPlugin<S>, section: Record<string, unknown>): Static<S> {
  const own = Object.fromEntries(Object.entries(section).filter(([k]) => !(COMMON_OPTIMIZER_FIELDS as readonly string[]).includes(k)));
  return parsePluginConfig(plugin.schema, own, 'optimizer');
}

/** An optimiser for `params` from a config's optimizer section. */
export function buildOptimizer(
  plugin: OptimizerPlugin,
  params: Param[],
  section: { weightDecay: number } & Record<string, unknown>,
): Optimizer & Checkpointable {
  return plugin.build(params, section.weightDecay, optimizerOptions(plugin, section));
}

const beta = (def: number, description: string) => Type.Number({ minimum: 0, exclusiveMaximum: 1, default: def, description });

export const adamw = defineOptimizer({
  name: 'adamw',
  title: 'AdamW (decoupled weight decay, PyTorch semantics)',
  schema: ConfigSchema({
    beta1: beta(0.9, 'first-moment decay (PyTorch default)'),
    beta2: beta(0.999, 'second-moment decay (PyTorch default)'),
    eps: Type.Number({ minimum: 0, default: 1e-8, description: 'added to the denominator (PyTorch default)' }),
  }),
  build: (params, weightDecay, o) => new AdamW(params, { weightDecay, ...o }),
});

export const lars = defineOptimizer({
  name: 'lars',
  title: 'LARS (MoCo v3 official: momentum SGD with layer-wise trust ratio, ndim > 1 only)',
  schema: ConfigSchema({
    momentum: beta(0.9, 'SGD momentum (MoCo v3 official)'),
    trustCoefficient: Type.Number({ exclusiveMinimum: 0, default: 0.001, description: 'eta of the trust ratio (MoCo v3 official)' }),
  }),
  build: (params, weightDecay, o) => new Lars(params, { weightDecay, ...o }),
});

export const lamb = defineOptimizer({
  name: 'lamb',
  title: 'LAMB (Adam with layer-wise trust ratio, ndim > 1 only, like LARS)',
  schema: ConfigSchema({
    beta1: beta(0.9, 'first-moment decay'),
    beta2: beta(0.999, 'second-moment decay'),
    eps: Type.Number({ exclusiveMinimum: 0, default: 1e-6, description: "added to the denominator (the LAMB paper's 1e-6)" }),
  }),
  build: (params, weightDecay, o) => new Lamb(params, { weightDecay, ...o }),
});

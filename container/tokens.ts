/**
 * Service identifiers of the container, one per kind of plugin, typed: `container.getAll(FRAMEWORKS)`
 * is a `FrameworkPlugin[]`. Frozen-backbone evaluators (one contract, evaluators/evaluator.ts),
 * training monitors and fine-tuners are kinds of their own (they have different interfaces).
 */
import type { ServiceIdentifier } from 'inversify';
import type { BackboneFamily } from '../backbones/backbone.ts';
import type { FrameworkPlugin } from '../frameworks/framework.ts';
import type { OptimizerPlugin } from '../optim/index.ts';
import type { DatasetSource } from '../data/sources.ts';
import type { MonitorFactory } from '../evaluators/index.ts';
import type { Evaluator } from '../evaluators/evaluator.ts';
import type { FinetuneEvaluator } from '../evaluators/finetune.ts';
import type { PluginKind } from '../core/plugin.ts';

/** The plugin type of each kind. */
export interface PluginTypes {
  backbone: BackboneFamily;
  framework: FrameworkPlugin;
  optimizer: OptimizerPlugin;
  dataset: DatasetSource;
  evaluator: Evaluator;
  monitor: MonitorFactory;
  finetuner: FinetuneEvaluator;
}

export type AnyPlugin = PluginTypes[PluginKind];

const id = <K extends PluginKind>(kind: K) => Symbol.for(`sslbench.${kind}`) as ServiceIdentifier<PluginTypes[K]>;

export const TOKENS: { [K in PluginKind]: ServiceIdentifier<PluginTypes[K]> } = {
  backbone: id('backbone'),
  framework: id('framework'),
  optimizer: id('optimizer'),
  dataset: id('dataset'),
  evaluator: id('evaluator'),
  monitor: id('monitor'),
  finetuner: id('finetuner'),
};

const named = <K extends PluginKind>(kind: K) => Symbol.for(`sslbench.${kind}.byName`) as ServiceIdentifier<PluginTypes[K]>;

/**
 * The same plugins bound once more under their names (`container.get(NAMED.framework, { name: 'mocov3' })`):
 * how a cell's container (container/cell-container.ts) wires the parts its config names.
 */
export const NAMED: { [K in PluginKind]: ServiceIdentifier<PluginTypes[K]> } = {
  backbone: named('backbone'),
  framework: named('framework'),
  optimizer: named('optimizer'),
  dataset: named('dataset'),
  evaluator: named('evaluator'),
  monitor: named('monitor'),
  finetuner: named('finetuner'),
};

/** The plugin's name (a backbone family registers under its family name). */
export function pluginName(p: AnyPlugin): string {
  return 'family' in p ? p.family : p.name;
}

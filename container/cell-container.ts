/**
 * One cell's container: a child of the root (container/container.ts) that binds what the cell's
 * config names and wires the parts together. The framework gets its backbone factory, the optimiser
 * the framework's parameters, the kNN monitor the framework's feature width, each by injection
 * (`toResolvedValue` with the services it needs), built once per cell (singleton scope: one
 * framework per cell, never shared with the next cell) and only when asked for. A caller (a test,
 * a custom run) may rebind any part in the child before use, e.g. a stand-in data set, without
 * touching the root or the other cells.
 */
import { Container, type ServiceIdentifier } from 'inversify';
import type { PretrainConfig } from '../core/config.ts';
import type { PluginKind } from '../core/plugin.ts';
import type { Backbone, BackboneFamily } from '../backbones/backbone.ts';
import type { BackboneOptions } from '../core/config.ts';
import { buildFramework, type Framework, type FrameworkPlugin } from '../frameworks/framework.ts';
import { buildOptimizer, type OptimizerPlugin } from '../optim/index.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import type { Checkpointable } from '../core/checkpoint.ts';
import type { DatasetSource } from '../data/sources.ts';
import type { Evaluator } from '../evaluators/evaluator.ts';
import type { MonitorFactory } from '../evaluators/index.ts';
import { NAMED, type PluginTypes } from './tokens.ts';

const id = <T>(name: string) => Symbol.for(`sslbench.cell.${name}`) as ServiceIdentifier<T>;

/** What a cell's container provides. */
export const CELL = {
  config: id<PretrainConfig>('config'),
  backboneFamily: id<BackboneFamily>('backboneFamily'),
  /** Builds a backbone by name (the framework's encoders; a probe's fresh copy). */
  buildBackbone: id<(name: string, opts: BackboneOptions, seed: number) => Backbone>('buildBackbone'),
  frameworkPlugin: id<FrameworkPlugin>('frameworkPlugin'),
  framework: id<Framework>('framework'),
  optimizerPlugin: id<OptimizerPlugin>('optimizerPlugin'),
  optimizer: id<Optimizer & Checkpointable>('optimizer'),
  dataset: id<DatasetSource>('dataset'),
  knn: id<Evaluator>('knn'),
  monitor: id<MonitorFactory>('monitor'),
} as const;

/** A backbone name may carry a patch suffix (`vit-b/16`); its family is the part before it. */
export const backboneFamilyName = (name: string): string => name.replace(/\/\d+$/, '');

/** The plugin of `kind` named `name` from the container hierarchy, or an error listing the known ones. */
export function namedPlugin<K extends PluginKind>(c: Container, kind: K, name: string, known: () => string[]): PluginTypes[K] {
  if (!c.isBound(NAMED[kind], { name }))
    throw new Error(
      `unknown ${kind} '${name}'; known ${kind}s: ${known().join(', ')}${kind === 'backbone' ? ' (patch size as a suffix, e.g. vit-b/16)' : ''}`,
    );
  return c.get(NAMED[kind], { name });
}

/** The names registered for `kind` (for errors). */
export type KnownNames = (kind: PluginKind) => string[];

/** A child of `root` holding one cell's parts, wired from its config. */
export function cellContainer(root: Container, config: PretrainConfig, known: KnownNames): Container {
  const c = new Container({ parent: root });
  const plugin = <K extends PluginKind>(kind: K, name: string) => namedPlugin(root, kind, name, () => known(kind));
  c.bind(CELL.config).toConstantValue(config);
  c.bind(CELL.backboneFamily).toResolvedValue(() => plugin('backbone', backboneFamilyName(config.backbone.name)));
  c.bind(CELL.buildBackbone).toResolvedValue(
    () => (name: string, opts: BackboneOptions, seed: number) => plugin('backbone', backboneFamilyName(name)).build(name, opts, seed),
  );
  c.bind(CELL.frameworkPlugin).toResolvedValue(() => plugin('framework', config.framework.name));
  c.bind(CELL.framework)
    .toResolvedValue(
      (fp: FrameworkPlugin, build: (name: string, opts: BackboneOptions, seed: number) => Backbone, cfg: PretrainConfig) => {
        const { name: backboneName, ...backboneOptions } = cfg.backbone;
        return buildFramework(fp, cfg.framework, {
          backboneName,
          backboneOptions: { ...backboneOptions, imageSize: cfg.data.viewSize },
          seed: cfg.seed,
          buildBackbone: build,
        });
      },
      [CELL.frameworkPlugin, CELL.buildBackbone, CELL.config],
    )
    .inSingletonScope();
  c.bind(CELL.optimizerPlugin).toResolvedValue(() => plugin('optimizer', config.optimizer.name));
  c.bind(CELL.optimizer)
    .toResolvedValue(
      (op: OptimizerPlugin, fw: Framework, cfg: PretrainConfig) => buildOptimizer(op, fw.trainableParams(), cfg.optimizer),
      [CELL.optimizerPlugin, CELL.framework, CELL.config],
    )
    .inSingletonScope();
  c.bind(CELL.dataset).toResolvedValue(() => plugin('dataset', config.data.dataset));
  c.bind(CELL.knn).toResolvedValue(() => plugin('evaluator', 'knn'));
  c.bind(CELL.monitor).toResolvedValue(() => plugin('monitor', 'knn-monitor'));
  return c;
}

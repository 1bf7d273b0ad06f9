/**
 * The composition root: the one place where sslbench's plugins are bound. Built-in plugins are
 * listed in container/builtin.ts; a user's own plugins (a framework, a backbone, ...) come from
 * plugin files (`--plugin FILE`, container/plugin-files.ts) and are bound beside them, each twice:
 * in its kind's list (TOKENS, for `bench list` and checks) and under its name (NAMED, for wiring).
 * A `Registry` is the typed view of the lists (names, friendly errors for unknown names); a cell's
 * parts are wired by its own child container (container/cell-container.ts).
 */
import { Container } from 'inversify';
import { PLUGIN_KINDS, type PluginKind } from '../core/plugin.ts';
import type { BackboneFamily } from '../backbones/backbone.ts';
import { LinearProbeConfigSchema, type LinearProbeEvaluator } from '../evaluators/linear-probe.ts';
import { type AnyPlugin, NAMED, type PluginTypes, TOKENS, pluginName } from './tokens.ts';
import { BUILTIN_PLUGINS } from './builtin.ts';
import { backboneFamilyName, cellContainer } from './cell-container.ts';
import type { PretrainConfig } from '../core/config.ts';

/** The kind of a plugin value: its `kind` field, or a backbone family's shape. */
export function kindOf(p: AnyPlugin): PluginKind {
  if ('kind' in p && typeof p.kind === 'string' && (PLUGIN_KINDS as readonly string[]).includes(p.kind)) return p.kind as PluginKind;
  throw new Error(`plugin '${pluginName(p)}': no valid 'kind' (one of ${PLUGIN_KINDS.join(', ')})`);
}

/** A container with the built-in plugins and `extra` (users' plugins) bound; a duplicate name is an error. */
export function buildContainer(extra: readonly AnyPlugin[] = []): Container {
  const c = new Container();
  const seen = new Map<string, string>();
  for (const [p, from] of [...BUILTIN_PLUGINS.map((p) => [p, 'built in'] as const), ...extra.map((p) => [p, 'plugin'] as const)]) {
    const kind = kindOf(p);
    const key = `${kind}:${pluginName(p)}`;
    if (seen.has(key))
      throw new Error(`${kind} '${pluginName(p)}' is registered twice (${seen.get(key)} and ${from}); a plugin needs a name of its own`);
    seen.set(key, from);
    c.bind(TOKENS[kind] as never).toConstantValue(p as never);
    c.bind(NAMED[kind] as never)
      .toConstantValue(p as never)
      .whenNamed(pluginName(p));
  }
  return c;
}

/** The plugins of one kind, by name; an unknown name is an error that lists the known ones. */
export class PluginSet<K extends PluginKind> {
  private readonly byName: Map<string, PluginTypes[K]>;
  constructor(
    readonly kind: K,
    plugins: readonly PluginTypes[K][],
  ) {
    this.byName = new Map(plugins.map((p) => [pluginName(p), p]));
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get(name: string): PluginTypes[K] {
    const p = this.byName.get(name);
    if (!p) throw new Error(`unknown ${this.kind} '${name}'; known ${this.kind}s: ${this.names().join(', ') || '(none registered)'}`);
    return p;
  }

  all(): PluginTypes[K][] {
    return [...this.byName.values()];
  }
}

/** Typed access to every kind of plugin a container holds. */
export class Registry {
  readonly backbones: PluginSet<'backbone'>;
  readonly frameworks: PluginSet<'framework'>;
  readonly optimizers: PluginSet<'optimizer'>;
  readonly datasets: PluginSet<'dataset'>;
  readonly evaluators: PluginSet<'evaluator'>;
  readonly monitors: PluginSet<'monitor'>;
  readonly finetuners: PluginSet<'finetuner'>;

  /** `container`: the root every cell's container (container/cell-container.ts) is a child of. */
  constructor(readonly container: Container = buildContainer()) {
    const all = <K extends PluginKind>(kind: K) =>
      new PluginSet(kind, container.isBound(TOKENS[kind]) ? container.getAll(TOKENS[kind]) : []);
    this.backbones = all('backbone');
    this.frameworks = all('framework');
    this.optimizers = all('optimizer');
    this.datasets = all('dataset');
    this.evaluators = all('evaluator');
    this.monitors = all('monitor');
    this.finetuners = all('finetuner');
  }

  /** The set of one kind (for `bench list`). */
  set(kind: PluginKind): PluginSet<PluginKind> {
    const sets: Record<PluginKind, PluginSet<PluginKind>> = {
      backbone: this.backbones,
      framework: this.frameworks,
      optimizer: this.optimizers,
      dataset: this.datasets,
      evaluator: this.evaluators,
      monitor: this.monitors,
      finetuner: this.finetuners,
    };
    return sets[kind];
  }

  /** A child container wiring one cell's parts from its config (container/cell-container.ts). */
  cell(config: PretrainConfig): Container {
    return cellContainer(this.container, config, (kind) => this.set(kind).names());
  }

  /** The linear probe every pre-training suite's measured column comes from (its config schema checked). */
  linearProbe(): LinearProbeEvaluator {
    const e = this.evaluators.get('linear-probe');
    if (e.schema !== LinearProbeConfigSchema) throw new Error("evaluator 'linear-probe' is not sslbench's linear probe");
    return e as unknown as LinearProbeEvaluator;
  }

  /** A backbone name may carry a patch suffix (`vit-b/16`); its family is the part before it. */
  backbone(name: string): BackboneFamily {
    const family = backboneFamilyName(name);
    if (!this.backbones.has(family)) {
      throw new Error(
        `unknown backbone '${name}'; known backbones: ${this.backbones.names().join(', ')} (patch size as a suffix, e.g. vit-b/16)`,
      );
    }
    return this.backbones.get(family);
  }
}

let builtin: Registry | undefined;

/** A registry of the built-in plugins only (for callers given none, e.g. resolving a suite's cells in tests). */
export function builtinRegistry(): Registry {
  builtin ??= new Registry();
  return builtin;
}

/**
 * The one place where sslbench's interchangeable parts are wired. Every backbone family (and,
 * as they land, every framework, evaluator, dataset and optimiser) is bound here by name;
 * `bench list` prints what is bound, and suites and the CLI resolve names through `Registry`.
 */
import { Container } from 'inversify';
import { KINDS, Kind, NAMES, TOKENS } from './tokens.ts';
import type { BackboneFamily } from '../backbones/backbone.ts';
import { allVitFamilies } from '../backbones/vit/index.ts';
import { allResnetFamilies } from '../backbones/resnet/index.ts';
import type { FrameworkFactory } from '../frameworks/framework.ts';
import { mocov3Factory } from '../frameworks/mocov3.ts';
import { simclrFactory } from '../frameworks/simclr.ts';
import { byolFactory } from '../frameworks/byol.ts';
import { swavFactory } from '../frameworks/swav.ts';
import { DATASET_SOURCES, type DatasetSource } from '../data/sources.ts';
import { adamwFactory, lambFactory, larsFactory, type OptimizerFactory } from '../optim/index.ts';
import { knnEvaluator, knnMonitorFactory } from '../evaluators/index.ts';
import { linearProbeEvaluator } from '../evaluators/linear-probe.ts';
import { finetuneEvaluator } from '../evaluators/finetune.ts';

function bindNamed<T>(c: Container, kind: Kind, entries: [string, T][]): void {
  for (const [name, value] of entries) c.bind<T>(TOKENS[kind]).toConstantValue(value).whenNamed(name);
  c.bind<string[]>(NAMES[kind]).toConstantValue(entries.map(([n]) => n));
}

export function buildContainer(): Container {
  const c = new Container();
  bindNamed<BackboneFamily>(c, 'backbone', [...allVitFamilies(), ...allResnetFamilies()].map((f) => [f.family, f]));
  const frameworks = [mocov3Factory, simclrFactory, byolFactory, swavFactory] as FrameworkFactory[];
  bindNamed<FrameworkFactory>(c, 'framework', frameworks.map((f) => [f.name, f]));
  bindNamed<unknown>(c, 'evaluator', [
    [knnEvaluator.name, knnEvaluator],
    [knnMonitorFactory.name, knnMonitorFactory],
    [linearProbeEvaluator.name, linearProbeEvaluator],
    [finetuneEvaluator.name, finetuneEvaluator],
  ]);
  bindNamed<DatasetSource>(c, 'dataset', DATASET_SOURCES.map((d) => [d.name, d]));
  bindNamed<OptimizerFactory>(c, 'optimizer', [adamwFactory, larsFactory, lambFactory].map((f) => [f.name, f]));
  for (const kind of KINDS) if (!c.isBound(NAMES[kind])) c.bind<string[]>(NAMES[kind]).toConstantValue([]);
  return c;
}

/** Name-based access to the container, with errors that list the known names. */
export class Registry {
  constructor(private readonly container: Container = buildContainer()) {}

  names(kind: Kind): string[] {
    return this.container.get<string[]>(NAMES[kind]);
  }

  get<T>(kind: Kind, name: string): T {
    if (!this.names(kind).includes(name)) {
      const known = this.names(kind);
      throw new Error(`unknown ${kind} '${name}'; known ${kind}s: ${known.length ? known.join(', ') : '(none registered yet)'}`);
    }
    return this.container.get<T>(TOKENS[kind], { name });
  }

  /** A backbone name may carry a patch suffix (`vit-b/16`); its family is the part before it. */
  backbone(name: string): BackboneFamily {
    const family = name.replace(/\/\d+$/, '');
    try {
      return this.get<BackboneFamily>('backbone', family);
    } catch (err) {
      throw new Error(`unknown backbone '${name}'; known backbones: ${this.names('backbone').join(', ')} (patch size as a suffix, e.g. vit-b/16)`, { cause: err });
    }
  }
}

/** sslbench's built-in plugins, in the order `bench list` shows them. */
import type { AnyPlugin } from './tokens.ts';
import { allVitFamilies } from '../backbones/vit/index.ts';
import { allResnetFamilies } from '../backbones/resnet/index.ts';
import { mocov3 } from '../frameworks/mocov3.ts';
import { simclr } from '../frameworks/simclr.ts';
import { byol } from '../frameworks/byol.ts';
import { swav } from '../frameworks/swav.ts';
import { DATASET_SOURCES } from '../data/sources.ts';
import { adamw, lamb, lars } from '../optim/index.ts';
import { knnEvaluator, knnMonitorFactory } from '../evaluators/index.ts';
import { linearProbeEvaluator } from '../evaluators/linear-probe.ts';
import { finetuneEvaluator } from '../evaluators/finetune.ts';

export const BUILTIN_PLUGINS: readonly AnyPlugin[] = [
  ...allVitFamilies(),
  ...allResnetFamilies(),
  mocov3,
  simclr,
  byol,
  swav,
  ...DATASET_SOURCES,
  adamw,
  lars,
  lamb,
  knnEvaluator,
  linearProbeEvaluator,
  knnMonitorFactory,
  finetuneEvaluator,
];

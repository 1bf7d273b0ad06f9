/**
 * `bench detector`: the kNN-dip detector's detection and false-alarm rates on synthetic tiny-like
 * monitor curves (bench/instability-detector.ts), or with --runs DIR the noise and dip threshold
 * it finds on every kNN curve under DIR (a run store's result.json files, or a results folder).
 * Values in points (0.5 = 0.5 accuracy points).
 */
import fs from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import type { DipOptions } from '../../core/instability.ts';
import {
  type DetectorBenchOptions,
  PAPER_DIP,
  TINY_MODEL,
  formatDetectorBench,
  formatRunThresholds,
  runDetectorBench,
  runThresholds,
} from '../../bench/instability-detector.ts';
import { intOption } from '../options.ts';

function numberOption(flag: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`${flag} must be a number >= ${min}, got '${value}'`);
    return n;
  };
}

function listOption(flag: string, integer: boolean) {
  return (value: string): number[] => {
    const xs = value.split(',').map((s) => Number(s.trim()));
    if (!xs.length || xs.some((x) => !Number.isFinite(x) || x <= 0 || (integer && !Number.isInteger(x))))
      throw new InvalidArgumentError(
        `${flag} must be a comma-separated list of positive ${integer ? 'integers' : 'numbers'}, got '${value}'`,
      );
    return xs;
  };
}

interface DetectorFlags {
  runs?: string;
  curves: number;
  seed: number;
  noise: number[];
  lengths: number[];
  every: number;
  start: number;
  rise: number;
  tau: number;
  queries: number;
  depth: number;
  width: number;
  dipThreshold?: number;
  noiseFactor?: number;
  falseAlarm?: number;
  minPoints?: number;
  maxPoints?: number;
  context?: number;
}

const m = TINY_MODEL;
const p = (x: number) => String(Math.round(1e6 * 100 * x) / 1e6);

export function detectorCommand(): Command {
  return new Command('detector')
    .description(
      'kNN-dip detector: detection and false-alarm rates on synthetic tiny-like monitor curves, or (--runs DIR) the ' +
        'noise and dip ' +
        'threshold of every kNN curve stored under DIR',
    )
    .option(
      '--runs <dir>',
      'print knnNoise and the effective dip threshold of every kNN curve under DIR: a run store (result.json) or a ' +
        'results folder ' +
        '(SUITE-PRESET.json) (no simulation)',
    )
    .option('--curves <n>', 'curves of each kind per row', intOption('--curves', 1), 1000)
    .option('--seed <n>', 'seed', intOption('--seed', 0), 1)
    .option('--noise <list>', 'noise levels, points', listOption('--noise', false), [0.25, 0.35, 0.5, 0.8, 1])
    .option('--lengths <list>', 'curve lengths, monitor points', listOption('--lengths', true), [10, 19, 40, 75])
    .option('--every <n>', 'iterations between evaluations', intOption('--every', 1), m.every)
    .option('--start <pts>', 'accuracy at the first evaluation, percent', numberOption('--start'), Number(p(m.start)))
    .option('--rise <pts>', 'rise from the first evaluation to the last, points', numberOption('--rise'), Number(p(m.rise)))
    .option('--tau <x>', 'time constant of the rise, fraction of the run (0: a step at the start)', numberOption('--tau'), m.tau)
    .option('--queries <n>', 'values rounded to 1/queries (0: not rounded)', intOption('--queries', 0), m.queries)
    .option('--depth <pts>', 'planted dip depth, points', numberOption('--depth'), Number(p(PAPER_DIP.depth)))
    .option('--width <n>', 'planted dip length, monitor points', intOption('--width', 1), PAPER_DIP.width)
    .option(
      '--dip-threshold <pts>',
      'detector: floor of the dip threshold, points (default: the detector default)',
      numberOption('--dip-threshold'),
    )
    .option(
      '--noise-factor <c>',
      'detector: threshold = max(floor, k x noise), k = c x z(1 - false-alarm / windows)',
      numberOption('--noise-factor'),
    )
    .option(
      '--false-alarm <a>',
      'detector: per-curve false-alarm budget in k (0: k = the noise factor itself)',
      numberOption('--false-alarm'),
    )
    .option('--min-points <n>', 'detector: shortest window tested', intOption('--min-points', 1))
    .option('--max-points <n>', 'detector: longest window tested', intOption('--max-points', 1))
    .option('--context <n>', 'detector: points on each side fixing the reference line', intOption('--context', 1))
    .action((o: DetectorFlags) => {
      const detector: Partial<DipOptions> = {
        ...(o.dipThreshold !== undefined ? { dipThreshold: o.dipThreshold / 100 } : {}),
        ...(o.noiseFactor !== undefined ? { dipNoiseFactor: o.noiseFactor } : {}),
        ...(o.falseAlarm !== undefined ? { dipFalseAlarm: o.falseAlarm } : {}),
        ...(o.minPoints !== undefined ? { dipMinPoints: o.minPoints } : {}),
        ...(o.maxPoints !== undefined ? { dipMaxPoints: o.maxPoints } : {}),
        ...(o.context !== undefined ? { dipContext: o.context } : {}),
      };
      if (o.runs) {
        if (!fs.existsSync(o.runs) || !fs.statSync(o.runs).isDirectory())
          throw new InvalidArgumentError(`--runs: '${o.runs}' is not a folder`);
        for (const line of formatRunThresholds(o.runs, runThresholds(o.runs, detector))) console.log(line);
        return;
      }
      const b: DetectorBenchOptions = {
        model: { ...m, every: o.every, start: o.start / 100, rise: o.rise / 100, tau: o.tau, queries: o.queries },
        dip: { depth: o.depth / 100, width: o.width },
        detector,
        noises: o.noise.map((x) => x / 100),
        lengths: o.lengths,
        curves: o.curves,
        seed: o.seed,
      };
      for (const line of formatDetectorBench(b, runDetectorBench(b))) console.log(line);
    });
}

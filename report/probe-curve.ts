/**
 * The probe-vs-iterations curve's outputs (runner/probe-curve.ts): SUITE-PRESET-probe-curve.md,
 * .csv and .json (one row per cell and point) and .svg (validation top-1 against epochs, one line
 * per cell, the raw-pixel floor dashed).
 */
import path from 'node:path';
import { writeFileSet } from '../core/file-set.ts';
import { renderLinePlot } from './svg-plot.ts';
import type { ResultTable } from './table.ts';
import { tableFiles } from './write.ts';

export interface CurvePoint {
  iter: number;
  epoch: number;
  /** What the weights are: the random init, a snapshot, the run's final weights. */
  source: 'random-init' | 'snapshot' | 'final';
  /** Validation top-1 at the probe's chosen lr and epoch, in [0, 1] (what a schedule is chosen on). */
  valTop1?: number;
  /** Test top-1 at that choice, in [0, 1] (reported, never chosen on). */
  top1: number;
  bestBaseLr: number;
  chosenEpoch?: number;
}

export interface ProbeCurve {
  hash: string;
  /** The cell's precision (absent: fp32). */
  precision?: string;
  itersPerEpoch: number;
  totalIters: number;
  points: CurvePoint[];
  /** The raw-pixel floor under the same probe, test and validation top-1. */
  rawPixels: { top1: number; valTop1?: number };
  /** The point of highest validation accuracy. */
  bestOnValidation: CurvePoint;
}

export interface LabelledCurve {
  id: string;
  curve: ProbeCurve;
}

const pct = (v: number | undefined) => (v === undefined ? '' : (100 * v).toFixed(1));
const WEIGHTS = { 'random-init': 'random init', snapshot: 'snapshot', final: 'final' } as const;

export function probeCurveTable(name: string, title: string, curves: LabelledCurve[]): ResultTable {
  const rows = curves.flatMap(({ id, curve }) =>
    curve.points.map((p) => ({
      cell: id,
      iter: p.iter,
      epoch: Number(p.epoch.toFixed(2)),
      weights: WEIGHTS[p.source],
      lr: p.bestBaseLr,
      val: pct(p.valTop1),
      test: pct(p.top1),
    })),
  );
  const notes = [
    'Each point is the linear probe of the backbone after that many iterations: lr and epoch chosen on the validation split held ' +
      'out of the training images, as every cell is probed; "val" is what a schedule is chosen on, "test" is reported only.',
    'Snapshots are taken inside one run, so a point before the end is that run part-way through its cosine schedule, not the ' +
      'result of a shorter schedule.',
    ...curves.map(({ id, curve }) => {
      const b = curve.bestOnValidation;
      const last = curve.points.at(-1)!;
      return (
        `${id} (config ${curve.hash}, ${curve.precision ?? 'fp32'}): best on validation at iteration ${b.iter} (epoch ${b.epoch.toFixed(1)}): val ${pct(b.valTop1)}, test ${pct(b.top1)}; ` +
        `final val ${pct(last.valTop1)}, test ${pct(last.top1)}; raw pixels val ${pct(curve.rawPixels.valTop1)}, ` +
        `test ${pct(curve.rawPixels.top1)}.`
      );
    }),
  ];
  return {
    name,
    title,
    columns: [
      { key: 'cell', header: 'cell' },
      { key: 'iter', header: 'iteration', numeric: true },
      { key: 'epoch', header: 'epoch', numeric: true },
      { key: 'weights', header: 'weights' },
      { key: 'lr', header: 'probe lr', numeric: true, csv: 'probe_lr' },
      { key: 'val', header: 'val top-1 (%)', numeric: true, csv: 'val_top1' },
      { key: 'test', header: 'test top-1 (%)', numeric: true, csv: 'test_top1' },
    ],
    rows,
    notes,
  };
}

export function probeCurveSvg(title: string, curves: LabelledCurve[]): string {
  const series = curves.map(({ id, curve }) => ({
    label: id,
    points: curve.points.filter((p) => p.valTop1 !== undefined).map((p) => [p.epoch, 100 * p.valTop1!] as [number, number]),
  }));
  const raw = curves[0]?.curve.rawPixels.valTop1;
  return renderLinePlot(series, {
    title,
    xLabel: 'epoch',
    yLabel: 'linear probe, validation top-1 (%)',
    ...(raw === undefined ? {} : { hLines: [{ y: 100 * raw, label: `raw pixels ${(100 * raw).toFixed(1)}%` }] }),
  });
}

/** Writes the curve's table (md, csv, json) and figure (svg) to `dir`; returns the files. */
export function writeProbeCurve(dir: string, name: string, title: string, curves: LabelledCurve[]): string[] {
  const table = probeCurveTable(name, title, curves);
  const files = [...tableFiles(dir, table, { curves }), { file: path.join(dir, `${name}.svg`), data: probeCurveSvg(title, curves) }];
  writeFileSet(files);
  return files.map((f) => f.file);
}

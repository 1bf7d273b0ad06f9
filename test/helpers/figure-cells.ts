/** Figure fixtures: a matrix suite's cell whose training loss falls linearly (no kNN curve). */
import type { FigureCell } from '../../report/figures.ts';

/** The cell `row / column` with `n` loss points from `from` to `to`, 8 iterations an epoch. */
export function lossCell(row: string, column: string, from: number, to: number, n = 40): FigureCell {
  const loss = Array.from({ length: n }, (_, i) => ({ iter: i, epoch: i / 8, value: from + ((to - from) * i) / (n - 1) }));
  return { id: `${row} / ${column}`, row, column, result: { final: { knn: 0.5 }, flags: { diverged: false }, curves: { loss, knn: [] } } };
}

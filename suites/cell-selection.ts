/**
 * A partial run (`bench run SUITE --cells ID`): only the named cells of a pre-training suite are
 * trained (each at every seed of the run); the suite's other cells that the run store has finished
 * are read as usual, and the rest are "not run", listed in the stored results (`notRun`) and the
 * tables, so that a campaign of many hours can be spent where it matters first and its tables and
 * scorecard show what is done so far. A later run without `--cells` trains the rest and reuses
 * every finished cell.
 */
import type { Suite } from './schema.ts';

/** The arm a (possibly seeded) suite cell belongs to. */
const armOfCell = (c: { id: string; arm?: string }): string => c.arm ?? c.id;

/**
 * The set of arms `--cells` selects, checked against the suite's cells (an id it does not have is
 * an error naming the flag and the suite's ids); undefined when no cell is named (the whole suite).
 */
export function selectedArms(suite: Suite, ids: readonly string[] | undefined, flag = '--cells'): ReadonlySet<string> | undefined {
  if (!ids?.length) return undefined;
  const known = [...new Set(suite.cells.map(armOfCell))];
  const unknown = ids.filter((id) => !known.includes(id));
  if (unknown.length)
    throw new Error(
      `${flag}: suite ${suite.name} has no cell ${unknown.map((u) => `'${u}'`).join(', ')}; its cells: ` +
        known.map((k) => `'${k}'`).join(', '),
    );
  return new Set(ids);
}

/** Whether a run with this selection trains a cell (every cell when nothing is selected). */
export const isSelected = (selection: ReadonlySet<string> | undefined, cell: { id: string; arm?: string }): boolean =>
  !selection || selection.has(armOfCell(cell));

/** The note a partial run's tables carry. */
export function notRunNote(suiteName: string, notRun: readonly string[], total: number): string {
  return (
    `partial run (\`bench run ${suiteName} --cells ...\`): ${total - notRun.length} of ${total} cells measured; not run yet: ` +
    `${notRun.map((id) => `'${id}'`).join(', ')}. \`bench run ${suiteName}\` without --cells trains them and reuses the finished ones.`
  );
}

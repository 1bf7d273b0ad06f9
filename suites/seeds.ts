/**
 * Paired seeds: a pre-training suite run at seeds 0..S-1 (`bench run --seeds S`, or the suite's
 * `seeds` field). Each cell becomes S cells, the k-th at its own seed + k: the seed-0 cell keeps
 * its id and config (so a suite already run at one seed reuses it), the others are named
 * `ID · seed k` and carry `arm: ID`, so the scorecard reads the cell's values seed by seed and
 * pairs arms by seed. Arms at one seed share what their configs allow: the data order (seeded by
 * seed and epoch) and the augmentation draws (by seed and iteration) whenever they have the same
 * batch and data, and the backbone's initial weights whenever they build the same backbone with
 * the same optional parameters (a ViT with or without a class token or a learned position table
 * draws its blocks' weights at other points of its seed's stream; another backbone has other weights).
 */
import type { Suite, SuiteCell } from './schema.ts';

/** The id of cell `id` at its k-th seed. */
export const seedCellId = (id: string, k: number): string => (k === 0 ? id : `${id} · seed ${k}`);

/** The suite with every cell at `seeds` consecutive seeds (1: the suite itself). */
export function withSeeds(suite: Suite, seeds: number): Suite {
  if (!Number.isInteger(seeds) || seeds < 1) throw new Error(`--seeds: must be a whole number >= 1 (got ${seeds})`);
  if (seeds === 1) return suite;
  const cells = suite.cells.flatMap((cell): SuiteCell[] =>
    Array.from({ length: seeds }, (_, k) => {
      if (k === 0) return { ...cell, arm: cell.id };
      const base = typeof cell.config.seed === 'number' ? cell.config.seed : 0;
      return {
        ...cell,
        id: seedCellId(cell.id, k),
        arm: cell.id,
        config: { ...cell.config, seed: base + k },
        ...(cell.column ? { column: `${cell.column} · seed ${k}` } : {}),
      };
    }),
  );
  return { ...suite, seeds: undefined, cells };
}

/**
 * The suite a run trains: at the command line's seeds, else the suite's `seeds`, else at one.
 * Refuses `seeds` on a suite whose kind repeats nothing (`takesSeeds` false) and `--set seed=`
 * beside several seeds.
 */
export function suiteAtSeeds(suite: Suite, flag: number | undefined, overrides: unknown, takesSeeds: boolean): Suite {
  if (!takesSeeds) {
    if (suite.seeds !== undefined) throw new Error(`suite ${suite.name}: seeds: its kind (${suite.kind}) pre-trains no cells to repeat`);
    return suite;
  }
  return withSeeds(suite, runSeeds(suite, flag, overrides));
}

/** The seeds a run uses: the command line's, else the suite's field, else 1; refuses `--set seed=` beside several. */
export function runSeeds(suite: Suite, flag: number | undefined, overrides: unknown): number {
  const n = flag ?? suite.seeds ?? 1;
  const setSeed = typeof overrides === 'object' && overrides !== null && 'seed' in overrides;
  if (n > 1 && setSeed)
    throw new Error(
      `--set seed: a run at ${n} seeds${flag ? ' (--seeds)' : ` (suite ${suite.name}'s seeds)`} sets each cell's seed itself; drop one`,
    );
  return n;
}

/** How many seeds a suite's stored cells were run at (1 + the highest `· seed k` of a cell with an arm). */
export function storedSeeds(cells: readonly { id: string; arm?: string }[]): number {
  let n = 1;
  for (const c of cells) {
    const k = c.arm ? /^(.*) · seed (\d+)$/.exec(c.id) : null;
    if (k && k[1] === c.arm) n = Math.max(n, Number(k[2]) + 1);
  }
  return n;
}

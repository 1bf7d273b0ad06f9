/**
 * The paper's numbers in a suite: a value the paper prints, or one derived from its text (a cell's
 * `derived` entry gives the rule in words, and the other reading where the text allows two).
 * Tables print derived values as `~71.7` and list their rules in a note, so a derived number is
 * never shown as if the paper printed it.
 */
import type { SuiteCell } from './schema.ts';

export interface PaperValue {
  value: number | string;
  /** Present when the paper does not print the value: how it was derived. */
  derived?: { rule: string; otherReading?: string };
}

export const DERIVED_MARK = '~';

export function paperValue(cell: SuiteCell, key: string): PaperValue | undefined {
  const value = cell.paper?.[key];
  if (value === undefined) return undefined;
  const derived = cell.derived?.[key];
  return derived ? { value, derived } : { value };
}

/** A paper value as a table shows it: `~71.7` when derived, the number as printed otherwise. */
export function formatPaper(v: PaperValue | undefined): number | string | undefined {
  if (!v) return undefined;
  // a printed number stays a number (its column shows one decimal, report/table.ts `decimals`)
  return v.derived ? `${DERIVED_MARK}${formatAccuracy(v.value)}` : v.value;
}

/**
 * An accuracy as the paper prints it: one decimal (its 69.0 is not 69 beside a 70.4; JSON keeps
 * no trailing zero). Strings (a range, "n/a") are shown as they are.
 */
export function formatAccuracy(v: number | string): string {
  return typeof v === 'number' ? v.toFixed(1) : v;
}

/** The numeric value of a paper entry (derived or stated), for plots and claims. */
export function paperNumber(cell: SuiteCell, key: string): number | undefined {
  const v = cell.paper?.[key];
  return typeof v === 'number' ? v : undefined;
}

/** Table notes for the derived values among `cells` under `key`: one line each with its rule. */
export function derivedNotes(cells: readonly SuiteCell[], key: string): string[] {
  const lines = cells.flatMap((c) => {
    const v = paperValue(c, key);
    if (!v?.derived) return [];
    const other = v.derived.otherReading ? ` Other reading: ${v.derived.otherReading}` : '';
    return [`${DERIVED_MARK}${v.value} (${c.id}): not printed in the paper; ${v.derived.rule}${other}`];
  });
  return lines.length ? [`Paper values marked ${DERIVED_MARK} are derived from the paper's text, not printed by it:`, ...lines] : [];
}

/**
 * How the pre-training suite tables show instability (evaluators/instability.ts): a result's
 * summary (recomputed from its curves for results written before it was stored), the `flags`
 * text, and the table notes that list each unstable cell's events. The figures, the HTML page and
 * the claims read the same summary (core/instability.ts' InstabilitySummary) through instabilityOf.
 */
import type { Dip, InstabilitySummary, Spike } from '../core/instability.ts';
import { INSTABILITY_DEFAULTS, detectInstability, dipRuleText, spikeCount, warmupItersOf } from '../evaluators/instability.ts';
import type { PretrainResult } from '../core/results.ts';

/** Marker of an unstable cell in a matrix table. */
export const UNSTABLE_MARK = '*';

/**
 * The detectors' summary, computed from the stored curves (so a changed detector applies to stored
 * results too); the stored summary only when there are no curves.
 */
export function instabilityOf(r: PretrainResult): InstabilitySummary | undefined {
  return r.curves ? detectInstability(r.curves, {}, warmupItersOf(r)) : r.instability;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const pts = (x: number) => (100 * x).toFixed(1);

/** `unstable (N dips, M spikes)`, or '' for a stable cell. */
export function instabilityFlag(s: InstabilitySummary | undefined): string {
  return s?.unstable ? `unstable (${plural(s.dips.length, 'dip')}, ${plural(spikeCount(s), 'spike')})` : '';
}

function capped<T>(xs: readonly T[], show: (x: T) => string, max = 6): string {
  const head = xs.slice(0, max).map(show).join(', ');
  return xs.length > max ? `${head}, +${xs.length - max} more` : head;
}

/**
 * Where a dip's bottom stands against the top it fell from, signed in words: a dip is a fall below
 * the curve's trend, so on a steep rise its bottom can still be above the earlier top (a stall).
 */
export function fromPeakText(d: Pick<Dip, 'depth' | 'peakValue' | 'peak'>): string {
  const side = d.depth >= 0 ? `${pts(d.depth)} pts below` : `${pts(-d.depth)} pts above`;
  return `${side} the ${pts(d.peakValue)}% at iter ${d.peak}`;
}

const dipText = (d: Dip) =>
  `iter ${d.start} (mean ${pts(d.drop)} pts under its trend; bottom ${pts(d.bottomValue)}% at iter ${d.bottom}, ${fromPeakText(d)}; ` +
  `${d.recovered ? `recovered at iter ${d.recoveredAt}` : 'not recovered'})`;
const spikeText = (s: Spike) => `iter ${s.iter} (${s.ratio.toFixed(1)}x)`;

/** One note line of a cell's events inside the lr warm-up (not counted as instability); undefined without any. */
export function warmupNote(cellId: string, s: InstabilitySummary | undefined): string | undefined {
  const w = s?.warmup;
  const layers = Object.entries(w?.spikes ?? {});
  if (!w || (!w.dips.length && !layers.length)) return undefined;
  const parts: string[] = [];
  if (w.dips.length) parts.push(`kNN dips at ${capped(w.dips, dipText)}`);
  if (layers.length) parts.push(`gradient spikes: ${layers.map(([l, sp]) => `${l} at ${capped(sp, spikeText)}`).join('; ')}`);
  return `in the lr warm-up (iterations before ${w.iters}; expected there, not counted), ${cellId}: ${parts.join('; ')}.`;
}

/** One note line of an unstable cell's events; undefined for a stable cell. */
export function instabilityNote(cellId: string, s: InstabilitySummary | undefined): string | undefined {
  if (!s?.unstable) return undefined;
  const parts: string[] = [];
  if (s.dips.length) parts.push(`kNN dips (threshold ${pts(s.thresholds.dipThresholdEffective)} pts) at ${capped(s.dips, dipText)}`);
  const layers = Object.entries(s.spikes);
  if (layers.length) parts.push(`gradient spikes: ${layers.map(([l, sp]) => `${l} at ${capped(sp, spikeText)}`).join('; ')}`);
  const o = s.firstLayerLeads;
  if (o.pairs.length) {
    const pairText = capped(
      o.pairs,
      (p) => `${p.firstIter} -> ${p.lastIter} (${p.lastLayer.replace(/^last: /, '')}, lag ${p.lag > 0 ? '+' : ''}${p.lag})`,
    );
    parts.push(
      `first-layer spike before the last layer's in ${o.leadsCount} of ${o.pairs.length} pairs (after: ${o.lagsCount}, same ` +
        `iteration: ${o.sameCount}): ${pairText}`,
    );
  } else if (layers.some(([l]) => l.startsWith('first:'))) {
    parts.push('no last-layer spike near the first-layer ones');
  }
  return `unstable, ${cellId}: ${parts.join('; ')}.`;
}

/** The notes of a suite table: what the checks are, the matrix marker, then one line per unstable cell. */
export function instabilityNotes(ids: readonly string[], results: readonly PretrainResult[], matrix: boolean): string[] {
  const d = INSTABILITY_DEFAULTS;
  const summaries = results.map(instabilityOf);
  const unstable = summaries.filter((s) => s?.unstable).length;
  const head =
    `instability checks: ${dipRuleText(d)}; ` +
    `a gradient spike is a norm above ${d.spikeFactor}x the median of the layer's previous ${d.spikeWindow} iterations (backbone's ` +
    `first, middle and last layers, every iteration); lag = last-layer spike iteration - first-layer spike iteration, within ` +
    `${d.orderWindow}. ` +
    'only events after the lr warm-up count (those inside it, the first move away from random init, are listed apart); ' +
    (matrix ? `${UNSTABLE_MARK} marks an unstable cell; ` : '') +
    `${unstable} of ${results.length} cells unstable.`;
  const thresholds = summaries
    .map((s, i) => (s ? `${ids[i]} ${pts(s.thresholds.dipThresholdEffective)}` : undefined))
    .filter((x): x is string => x !== undefined);
  const perCell = thresholds.length
    ? [`kNN dip threshold per cell (points; above ${pts(d.dipThreshold)} when the monitor's own noise sets it): ${thresholds.join(', ')}.`]
    : [];
  return [
    head,
    ...perCell,
    ...summaries.map((s, i) => instabilityNote(ids[i], s)).filter((n): n is string => n !== undefined),
    ...summaries.map((s, i) => warmupNote(ids[i], s)).filter((n): n is string => n !== undefined),
  ];
}

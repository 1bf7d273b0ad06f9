/**
 * When a preset cannot test a claim, the scorecard says so instead of giving a verdict:
 * - the claims file names the preset in the claim's `untestable` (with its reason);
 * - its transfer cells were fine-tuned on synthetic stand-ins, not the named data set;
 * - two arms it compares are the same configuration at this preset (the stand-ins collapse them);
 * - it counts instability events and the only ones lie inside the lr warm-up (the first move away
 *   from random init, not the paper's mid-training instability);
 * - its probes were chosen under different protocols (on the test set in results stored before the
 *   held-out split, on held-out training images since): the difference would be the protocol's.
 */
import { canonicalJson } from '../core/config.ts';
import type { Claim, Metric, Relation } from './schema.ts';
import type { StoredCell } from './measure.ts';
import { instabilityOf } from '../report/instability-notes.ts';
import type { PretrainResult } from '../core/results.ts';

/** Index pairs (into cellRefs order) that a relation compares directly. */
export function comparedPairs(r: Relation): [number, number][] {
  switch (r.kind) {
    case 'greater':
    case 'notGreater':
    case 'near':
      return [[0, 1]];
    case 'allGreater':
      return r.pairs.map((_, k) => [2 * k, 2 * k + 1]);
    case 'best':
    case 'worst':
      return r.others.map((_, i) => [0, i + 1]);
    case 'order':
      return r.cells.slice(1).map((_, i) => [i, i + 1]);
    case 'gainGreater':
      return [
        [0, 1],
        [2, 3],
      ];
    case 'bestOfGreater':
    case 'above':
    case 'atMost':
    case 'noiseAtMost':
      return [];
  }
}

const EVENT_METRICS: readonly Metric[] = ['dips', 'spikes', 'firstLayerLead'];

function eventCounts(c: StoredCell): { after: number; inside: number } | undefined {
  const s = c.curves ? instabilityOf(c as PretrainResult) : undefined;
  if (!s) return undefined;
  const spikes = (x: Record<string, unknown[]>) => Object.values(x).reduce((a, v) => a + v.length, 0);
  return { after: s.dips.length + spikes(s.spikes), inside: (s.warmup?.dips.length ?? 0) + spikes(s.warmup?.spikes ?? {}) };
}

/**
 * Why `claim` cannot be tested at `preset`, or undefined. `cells[i]` are the stored runs (any seed)
 * of its i-th reference, `labels[i]` their names.
 */
export function untestableReason(
  claim: Claim,
  preset: string,
  cells: readonly (StoredCell | undefined)[],
  labels: string[],
): string | undefined {
  const said = claim.untestable?.[preset];
  if (said) return said;
  const standin = cells.findIndex((c) => typeof c?.detail?.source === 'string' && /stand-in/.test(c.detail.source));
  if (standin >= 0)
    return `${labels[standin]} was fine-tuned on a synthetic stand-in, not the named data set (give \`--data-root\` with the official files)`;
  const same = (c: StoredCell | undefined) => {
    if (!c?.config) return undefined;
    const { seed: _s, ...rest } = c.config;
    return canonicalJson(rest);
  };
  for (const [i, j] of comparedPairs(claim.relation)) {
    const [a, b] = [same(cells[i]), same(cells[j])];
    if (a !== undefined && a === b)
      return `${labels[i]} and ${labels[j]} are the same configuration at ${preset} (its stand-ins collapse them)`;
  }
  const metric = claim.metric ?? 'linear';
  if (metric === 'linear') {
    const chosen = (c: StoredCell | undefined) => (c?.probe ? ((c.probe as { chosenOn?: string }).chosenOn ?? 'test') : undefined);
    const ons = cells.map(chosen);
    const i = ons.findIndex((x) => x === 'test');
    const j = ons.findIndex((x) => x !== undefined && x !== 'test');
    if (i >= 0 && j >= 0)
      return (
        `${labels[i]}'s probe chose its lr on the test set (stored before the held-out split), ${labels[j]}'s on held-out ` +
        `training images: run ${labels[i]}'s suite again to compare them`
      );
  }
  if (EVENT_METRICS.includes(metric)) {
    const counts = cells.map((c) => (c ? eventCounts(c) : undefined));
    if (counts.every((c) => c && c.after === 0) && counts.some((c) => c && c.inside > 0))
      return `its cells' only instability events at ${preset} lie inside the lr warm-up (the first move from random init)`;
  }
  return undefined;
}

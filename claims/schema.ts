/**
 * The paper's qualitative claims as data (claims/claims.json), validated with ajv: each claim names
 * the cells that test it (a cell id of the claim's suite, or { suite, cell }), the metric compared
 * (linear probe by default) and a machine-checkable relation between them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { installRoot } from '../core/install-root.ts';
import { fieldPath } from '../core/field-path.ts';
import { PRESETS } from '../recipes/presets.ts';

/** What a claim compares: a cell id of the claim's suite, or a cell of another suite. */
export type CellRef = string | { suite: string; cell: string };

export type Relation =
  /** a > b */
  | { kind: 'greater'; a: CellRef; b: CellRef }
  /** a > b for every pair [a, b] */
  | { kind: 'allGreater'; pairs: [CellRef, CellRef][] }
  /** the best of group a > the best of group b (each arm at its best setting, e.g. its best lr) */
  | { kind: 'bestOfGreater'; a: CellRef[]; b: CellRef[] }
  /** a is not better than b: a <= b, up to noise */
  | { kind: 'notGreater'; a: CellRef; b: CellRef }
  /** |a - b| <= tolerance (points), up to noise */
  | { kind: 'near'; a: CellRef; b: CellRef; tolerance: number }
  /** a above every other */
  | { kind: 'best'; a: CellRef; others: CellRef[] }
  /** a below every other */
  | { kind: 'worst'; a: CellRef; others: CellRef[] }
  /** decreasing order: cells[0] > cells[1] > ... */
  | { kind: 'order'; cells: CellRef[] }
  /** (a1 - b1) > (a2 - b2): a difference grows */
  | { kind: 'gainGreater'; a1: CellRef; b1: CellRef; a2: CellRef; b2: CellRef }
  /** a > value */
  | { kind: 'above'; a: CellRef; value: number }
  /** a <= value */
  | { kind: 'atMost'; a: CellRef; value: number }
  /** two trials of one configuration differ on average by at most value (points): judged on the pooled noise, no cells */
  | { kind: 'noiseAtMost'; value: number };

/**
 * linear: linear-probe top-1 (%); knn: kNN top-1 (%); top1: an evaluation suite's top-1 (%);
 * dips: kNN dips detected after the lr warm-up; spikes: gradient spike events after it;
 * firstLayerLead: first-layer-first spike pairs minus last-layer-first ones.
 */
export const METRICS = ['linear', 'knn', 'top1', 'dips', 'spikes', 'firstLayerLead'] as const;
export type Metric = (typeof METRICS)[number];

export interface Claim {
  id: string;
  claim: string;
  section: string;
  /** Default suite of the claim's cell ids. */
  suite?: string;
  metric?: Metric;
  /** The paper's numbers behind the claim, as the paper gives them (`~` where derived). */
  paper: string;
  /** The paper's own words the claim rests on (a sentence or a table caption, quoted). */
  quote: string;
  /**
   * Presets at which the claim cannot be tested, with the reason (e.g. a size ladder the preset
   * does not have); the scorecard says `not testable at PRESET` and gives no verdict.
   */
  untestable?: Record<string, string>;
  relation: Relation;
}

export interface ClaimsFile {
  claims: Claim[];
}

const ref = {
  oneOf: [
    { type: 'string', minLength: 1 },
    {
      type: 'object',
      additionalProperties: false,
      required: ['suite', 'cell'],
      properties: { suite: { type: 'string' }, cell: { type: 'string' } },
    },
  ],
};
const rel = (kind: string, props: Record<string, unknown>) => ({
  type: 'object',
  additionalProperties: false,
  required: ['kind', ...Object.keys(props)],
  properties: { kind: { const: kind }, ...props },
});
const refs = { type: 'array', minItems: 1, items: ref };

const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['claims'],
  properties: {
    claims: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'claim', 'section', 'paper', 'quote', 'relation'],
        properties: {
          id: { type: 'string', pattern: '^[a-z0-9][a-z0-9:._-]*$' },
          claim: { type: 'string', minLength: 1 },
          section: { type: 'string', minLength: 1 },
          suite: { type: 'string', minLength: 1 },
          metric: { enum: [...METRICS] },
          paper: { type: 'string', minLength: 1 },
          quote: { type: 'string', minLength: 10 },
          untestable: { type: 'object', additionalProperties: { type: 'string', minLength: 1 } },
          relation: {
            oneOf: [
              rel('greater', { a: ref, b: ref }),
              rel('allGreater', { pairs: { type: 'array', minItems: 1, items: { type: 'array', minItems: 2, maxItems: 2, items: ref } } }),
              rel('bestOfGreater', { a: refs, b: refs }),
              rel('noiseAtMost', { value: { type: 'number', exclusiveMinimum: 0 } }),
              rel('notGreater', { a: ref, b: ref }),
              rel('near', { a: ref, b: ref, tolerance: { type: 'number', minimum: 0 } }),
              rel('best', { a: ref, others: refs }),
              rel('worst', { a: ref, others: refs }),
              rel('order', { cells: { ...refs, minItems: 2 } }),
              rel('gainGreater', { a1: ref, b1: ref, a2: ref, b2: ref }),
              rel('above', { a: ref, value: { type: 'number' } }),
              rel('atMost', { a: ref, value: { type: 'number' } }),
            ],
          },
        },
      },
    },
  },
} as const;

const validate = new Ajv({ allErrors: true }).compile(SCHEMA);

export const CLAIMS_FILE = path.join(installRoot(), 'claims', 'claims.json');

/** Parses and validates a claims file; errors name the file and the bad field. */
export function parseClaims(data: unknown, source: string): ClaimsFile {
  if (!validate(data)) {
    // oneOf reports every branch: keep the messages that name a field outside the relation's kind mismatch
    const errs = (validate.errors ?? [])
      .filter((e) => e.keyword !== 'const' && e.keyword !== 'oneOf')
      .map((e) => `${fieldPath(e.instancePath)}: ${e.message}`);
    const fallback = (validate.errors ?? []).map((e) => `${fieldPath(e.instancePath)}: ${e.message}`);
    throw new Error(`${source}: invalid claims file:\n  ${[...new Set(errs.length ? errs : fallback)].join('\n  ')}`);
  }
  const file = data as ClaimsFile;
  const seen = new Set<string>();
  for (const [i, c] of file.claims.entries()) {
    if (seen.has(c.id)) throw new Error(`${source}: /claims/${i}/id: duplicate claim id '${c.id}'`);
    seen.add(c.id);
    for (const p of Object.keys(c.untestable ?? {}))
      if (!PRESETS.includes(p))
        throw new Error(`${source}: /claims/${i}/untestable: unknown preset '${p}' (presets: ${PRESETS.join(', ')})`);
    const bare = cellRefs(c.relation).filter((r) => typeof r === 'string');
    if (bare.length && !c.suite)
      throw new Error(`${source}: /claims/${i} (${c.id}): cell '${bare[0]}' names no suite and the claim has no 'suite'`);
  }
  return file;
}

export function loadClaims(file = CLAIMS_FILE): ClaimsFile {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: cannot read claims: ${(err as Error).message}`);
  }
  return parseClaims(data, file);
}

/** Every cell a relation reads. */
export function cellRefs(r: Relation): CellRef[] {
  switch (r.kind) {
    case 'greater':
    case 'notGreater':
    case 'near':
      return [r.a, r.b];
    case 'allGreater':
      return r.pairs.flat();
    case 'bestOfGreater':
      return [...r.a, ...r.b];
    case 'noiseAtMost':
      return [];
    case 'best':
    case 'worst':
      return [r.a, ...r.others];
    case 'order':
      return r.cells;
    case 'gainGreater':
      return [r.a1, r.b1, r.a2, r.b2];
    case 'above':
    case 'atMost':
      return [r.a];
  }
}

/** A reference as { suite, cell }, the claim's suite filling in a bare cell id. */
export function resolveRef(r: CellRef, claim: Claim): { suite: string; cell: string } {
  return typeof r === 'string' ? { suite: claim.suite!, cell: r } : r;
}

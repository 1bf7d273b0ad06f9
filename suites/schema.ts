/** The JSON Schema every suite file must satisfy, and its ajv validator. */
import { Ajv, type ErrorObject } from 'ajv';

export type SuiteKind = 'params' | 'flops';

export interface SuiteCell {
  /** Row label, unique within the suite. */
  id: string;
  /** Config overrides of this cell (backbone name and options, ...). */
  config: Record<string, unknown>;
  /** The paper's values for this cell, by column key. */
  paper?: Record<string, number | string>;
}

export interface Suite {
  name: string;
  title: string;
  /** Where in the paper, e.g. "Table 2". */
  reference: string;
  kind: SuiteKind;
  notes?: string[];
  cells: SuiteCell[];
}

export const SUITE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'title', 'reference', 'kind', 'cells'],
  properties: {
    $schema: { type: 'string' },
    name: { type: 'string', pattern: '^[a-z0-9][a-z0-9:_-]*$' },
    title: { type: 'string', minLength: 1 },
    reference: { type: 'string', minLength: 1 },
    kind: { enum: ['params', 'flops'] },
    notes: { type: 'array', items: { type: 'string' } },
    cells: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'config'],
        properties: {
          id: { type: 'string', minLength: 1 },
          config: {
            type: 'object',
            required: ['backbone'],
            properties: {
              backbone: { type: 'string', minLength: 1 },
              patchSize: { type: 'integer', minimum: 1 },
              imageSize: { type: 'integer', minimum: 1 },
              posEmbed: { enum: ['sincos', 'learned', 'none'] },
              pooling: { enum: ['cls', 'gap-ln', 'gap'] },
              randomPatchProj: { type: 'boolean' },
              mlpBatchNorm: { type: 'boolean' },
            },
          },
          paper: { type: 'object', additionalProperties: { type: ['number', 'string'] } },
        },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
const validate = ajv.compile(SUITE_SCHEMA);

function describe(e: ErrorObject): string {
  const where = e.instancePath || '(top level)';
  if (e.keyword === 'additionalProperties') return `${where}: unknown field '${(e.params as { additionalProperty: string }).additionalProperty}'`;
  if (e.keyword === 'required') return `${where}: missing field '${(e.params as { missingProperty: string }).missingProperty}'`;
  if (e.keyword === 'enum') return `${where}: ${e.message} (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})`;
  return `${where}: ${e.message}`;
}

/** Validates parsed JSON as a suite; throws an Error naming the source and every bad field. */
export function parseSuite(data: unknown, source: string): Suite {
  if (!validate(data)) {
    throw new Error(`${source}: invalid suite:\n  ${(validate.errors ?? []).map(describe).join('\n  ')}`);
  }
  const suite = data as unknown as Suite;
  const seen = new Set<string>();
  suite.cells.forEach((c, i) => {
    if (seen.has(c.id)) throw new Error(`${source}: invalid suite:\n  /cells/${i}/id: duplicate cell id '${c.id}'`);
    seen.add(c.id);
  });
  return suite;
}

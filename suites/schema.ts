/** The JSON Schema every suite file must satisfy, and its ajv validator. */
import { Ajv, type ErrorObject } from 'ajv';

export type SuiteKind = 'params' | 'flops' | 'pretrain';

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
  /** Preset used when the command line names none (pretrain suites). */
  preset?: string;
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
    kind: { enum: ['params', 'flops', 'pretrain'] },
    preset: { type: 'string', minLength: 1 },
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
          config: { type: 'object' },
          paper: { type: 'object', additionalProperties: { type: ['number', 'string'] } },
        },
      },
    },
  },
} as const;

const BACKBONE_OPTIONS = {
  patchSize: { type: 'integer', minimum: 1 },
  imageSize: { type: 'integer', minimum: 1 },
  posEmbed: { enum: ['sincos', 'learned', 'none'] },
  pooling: { enum: ['cls', 'gap-ln', 'gap'] },
  randomPatchProj: { type: 'boolean' },
  mlpBatchNorm: { type: 'boolean' },
} as const;

/** A count cell's config: a backbone and its switches. */
export const COUNT_CELL_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['backbone'],
  properties: { backbone: { type: 'string', minLength: 1 }, ...BACKBONE_OPTIONS },
} as const;

const posNum = { type: 'number', exclusiveMinimum: 0 } as const;
const posInt = { type: 'integer', minimum: 1 } as const;
const strict = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', additionalProperties: false, properties, required });

/**
 * A pre-training config (runner/config.ts). Cells give any part of it (overrides of the preset);
 * the resolved config must have every part (`PRETRAIN_CONFIG_REQUIRED`).
 */
export const PRETRAIN_CONFIG_SCHEMA = strict({
  seed: { type: 'integer', minimum: 0 },
  data: strict({
    dataset: { enum: ['auto', 'synthetic', 'fashion-mnist', 'imagenet'] },
    path: { type: 'string', minLength: 1 },
    trainCount: posInt,
    testCount: posInt,
    viewSize: posInt,
    evalCropFraction: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
  }),
  backbone: strict({ name: { type: 'string', minLength: 1 }, ...BACKBONE_OPTIONS }),
  framework: strict({
    name: { enum: ['mocov3'] },
    tau: posNum,
    m0: { type: 'number', minimum: 0, maximum: 1 },
    momentumSchedule: { enum: ['cosine', 'constant'] },
    predictor: { type: 'boolean' },
    headBn: { type: 'boolean' },
    projLayers: posInt,
    mlpDim: posInt,
    outDim: posInt,
    predictorLastBn: { type: 'boolean' },
  }),
  optimizer: strict({
    name: { enum: ['adamw'] },
    baseLr: posNum,
    weightDecay: { type: 'number', minimum: 0 },
    batch: { type: 'integer', minimum: 2 },
    epochs: posInt,
    warmupEpochs: { type: 'number', minimum: 0 },
    lrScaleDivisor: posNum,
  }),
  augment: strict({ cropMin: { type: 'number', exclusiveMinimum: 0, maximum: 1 } }),
  monitor: strict({ every: posInt, queueFraction: { type: 'number', exclusiveMinimum: 0, maximum: 1 }, k: posInt, temperature: posNum, queries: posInt }),
  knn: strict({ k: posInt, temperature: posNum }),
  checkpointEvery: posInt,
});

const PRETRAIN_CONFIG_REQUIRED = {
  ...PRETRAIN_CONFIG_SCHEMA,
  required: ['seed', 'data', 'backbone', 'framework', 'optimizer', 'augment', 'monitor', 'knn', 'checkpointEvery'],
};

const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
const validate = ajv.compile(SUITE_SCHEMA);
const validateCountCell = ajv.compile(COUNT_CELL_SCHEMA);
const validatePretrainCell = ajv.compile(PRETRAIN_CONFIG_SCHEMA);
const validatePretrainResolved = ajv.compile(PRETRAIN_CONFIG_REQUIRED);

function describe(e: ErrorObject, prefix = ''): string {
  const where = prefix + e.instancePath || '(top level)';
  if (e.keyword === 'additionalProperties') return `${where}: unknown field '${(e.params as { additionalProperty: string }).additionalProperty}'`;
  if (e.keyword === 'required') return `${where}: missing field '${(e.params as { missingProperty: string }).missingProperty}'`;
  if (e.keyword === 'enum') return `${where}: ${e.message} (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})`;
  return `${where}: ${e.message}`;
}

/** Validates parsed JSON as a suite; throws an Error naming the source and every bad field. */
export function parseSuite(data: unknown, source: string): Suite {
  const errors = validate(data) ? [] : (validate.errors ?? []).map((e) => describe(e));
  const d = data as Partial<Suite> | null;
  if (d && Array.isArray(d.cells)) {
    const cellCheck = d.kind === 'pretrain' ? validatePretrainCell : validateCountCell;
    const seen = new Set<string>();
    d.cells.forEach((c, i) => {
      if (c && typeof c.config === 'object' && c.config !== null && !cellCheck(c.config)) {
        errors.push(...(cellCheck.errors ?? []).map((e) => describe(e, `/cells/${i}/config`)));
      }
      if (c && typeof c.id === 'string') {
        if (seen.has(c.id)) errors.push(`/cells/${i}/id: duplicate cell id '${c.id}'`);
        seen.add(c.id);
      }
    });
  }
  if (errors.length) throw new Error(`${source}: invalid suite:\n  ${errors.join('\n  ')}`);
  return data as Suite;
}

/** Validates a fully resolved pre-training config; errors name each bad field. */
export function checkPretrainConfig(config: unknown, source: string): void {
  if (!validatePretrainResolved(config)) {
    throw new Error(`${source}: invalid config:\n  ${(validatePretrainResolved.errors ?? []).map((e) => describe(e)).join('\n  ')}`);
  }
}

/** The JSON Schema every suite file must satisfy, and its ajv validator. */
import { Ajv, type ErrorObject } from 'ajv';
import type { TObject } from '@sinclair/typebox';
import { BACKBONE_OPTIONS, PRETRAIN_CONFIG_REQUIRED, PRETRAIN_CONFIG_SCHEMA } from './pretrain-config-schema.ts';
import { parsePluginConfig } from '../core/plugin.ts';
import { fieldPath } from '../core/field-path.ts';
import { RECIPE_NAMES } from '../recipes/recipes.ts';

export interface SuiteCell {
  /** Row label, unique within the suite. */
  id: string;
  /** Config overrides of this cell (backbone name and options, ...). */
  config: Record<string, unknown>;
  /** The paper's values for this cell, by column key. */
  paper?: Record<string, number | string>;
  /**
   * Paper values the paper does not print but that are derived from its text, by the same key:
   * the rule in words, and the other reading where the text allows two (suites/paper-values.ts).
   */
  derived?: Record<string, { rule: string; otherReading?: string }>;
  /** Pre-training recipe (recipes/recipes.ts); default: the suite's, else mocov3-vit. */
  recipe?: string;
  /** Further overrides of this cell at a given preset (applied after the preset's scaling). */
  scaled?: Record<string, Record<string, unknown>>;
  /** Matrix suites: the cell's row and column labels. */
  row?: string;
  column?: string;
  /** Evaluation suites: a row of the paper's numbers only, not run. */
  reference?: boolean;
  /** Evaluation suites: evaluate the pre-trained backbone (default) or its seeded random init. */
  init?: 'pretrained' | 'random';
  /** Transfer suites: the target data set and its fine-tuning overrides. */
  transfer?: Record<string, unknown>;
  /** The suite cell this one repeats at another seed (set by suites/seeds.ts withSeeds). */
  arm?: string;
}

/** A scatter figure of a matrix suite: for each column, the value of one row (x) against another (y). */
export interface SuiteScatter {
  name: string;
  title: string;
  x: string;
  y: string;
}

/** A further evaluator of every cell of a pre-training suite: its name in the container and config fields. */
export interface SuiteEvaluator {
  name: string;
  config?: Record<string, unknown>;
}

export interface Suite {
  name: string;
  title: string;
  /** Where in the paper, e.g. "Table 2". */
  reference: string;
  /**
   * What the suite does, a kind descriptor's name (kinds/: params / flops count, pretrain
   * pre-trains cells, linear / transfer pre-train then probe / fine-tune).
   */
  kind: string;
  /** Preset used when the command line names none (pretrain suites). */
  preset?: string;
  /** Default recipe of the cells. */
  recipe?: string;
  /** Overrides of every cell at a given preset (applied after the preset's scaling, before the cell's). */
  scale?: Record<string, Record<string, unknown>>;
  /** 'matrix': cells have a row and a column and the table is laid out so (Table 4). */
  layout?: 'list' | 'matrix';
  scatter?: SuiteScatter;
  /**
   * Pre-training suites: evaluators run on every finished cell's weights besides the linear probe,
   * each a column of the table (a plugin's evaluator included).
   */
  evaluators?: SuiteEvaluator[];
  /** Pre-training suites: run every cell at this many consecutive seeds (paired arms; suites/seeds.ts); default 1. */
  seeds?: number;
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
    kind: { type: 'string', minLength: 1 },
    preset: { type: 'string', minLength: 1 },
    recipe: { enum: RECIPE_NAMES },
    scale: { type: 'object', additionalProperties: { type: 'object' } },
    layout: { enum: ['list', 'matrix'] },
    scatter: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'title', 'x', 'y'],
      properties: {
        name: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' },
        title: { type: 'string' },
        x: { type: 'string' },
        y: { type: 'string' },
      },
    },
    evaluators: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: { name: { type: 'string', minLength: 1 }, config: { type: 'object' } },
      },
    },
    seeds: { type: 'integer', minimum: 1 },
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
          derived: {
            type: 'object',
            additionalProperties: {
              type: 'object',
              additionalProperties: false,
              required: ['rule'],
              properties: { rule: { type: 'string', minLength: 1 }, otherReading: { type: 'string', minLength: 1 } },
            },
          },
          recipe: { enum: RECIPE_NAMES },
          scaled: { type: 'object', additionalProperties: { type: 'object' } },
          row: { type: 'string', minLength: 1 },
          column: { type: 'string', minLength: 1 },
          reference: { type: 'boolean' },
          init: { enum: ['pretrained', 'random'] },
          transfer: { type: 'object' },
          arm: { type: 'string', minLength: 1 },
        },
      },
    },
  },
} as const;

/** A count cell's config: a backbone and its switches. */
export const COUNT_CELL_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['backbone'],
  properties: { backbone: { type: 'string', minLength: 1 }, ...BACKBONE_OPTIONS },
} as const;

const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
const validate = ajv.compile(SUITE_SCHEMA);
const validateCountCell = ajv.compile(COUNT_CELL_SCHEMA);
const validatePretrainCell = ajv.compile(PRETRAIN_CONFIG_SCHEMA);
const validatePretrainResolved = ajv.compile(PRETRAIN_CONFIG_REQUIRED);

function describe(e: ErrorObject, prefix = ''): string {
  const where = fieldPath(prefix + e.instancePath);
  if (e.keyword === 'additionalProperties')
    return `${where}: unknown field '${(e.params as { additionalProperty: string }).additionalProperty}'`;
  if (e.keyword === 'required') return `${where}: missing field '${(e.params as { missingProperty: string }).missingProperty}'`;
  if (e.keyword === 'enum') return `${where}: ${e.message} (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})`;
  return `${where}: ${e.message}`;
}

/**
 * Validates parsed JSON as a suite: the fields every suite has (SUITE_SCHEMA, unique cell ids,
 * derived paper values, a matrix's rows and columns), then `kindErrors`, what its kind checks
 * (kinds/: cell configs, the kind's own fields). Throws an Error naming the source and every bad field.
 */
export function parseSuite(data: unknown, source: string, kindErrors?: (suite: Suite) => string[]): Suite {
  const errors = validate(data) ? [] : (validate.errors ?? []).map((e) => describe(e));
  const d = data as Partial<Suite> | null;
  if (d && Array.isArray(d.cells)) {
    const seen = new Set<string>();
    d.cells.forEach((c, i) => {
      for (const key of Object.keys(c?.derived ?? {})) {
        if (c?.paper?.[key] === undefined) errors.push(`cells[${i}].derived.${key}: derives paper.${key}, which the cell does not give`);
      }
      if (d.layout === 'matrix' && (!c?.row || !c?.column)) errors.push(`cells[${i}]: a matrix suite's cells need 'row' and 'column'`);
      if (c && typeof c.id === 'string') {
        if (seen.has(c.id)) errors.push(`cells[${i}].id: duplicate cell id '${c.id}'`);
        seen.add(c.id);
      }
    });
    if (kindErrors && typeof d.kind === 'string') errors.push(...kindErrors(d as Suite));
  }
  if (errors.length) throw new Error(`${source}: invalid suite:\n  ${errors.join('\n  ')}`);
  return data as Suite;
}

/** A counting suite's cells: each config a backbone name and its switches. */
export function countCellErrors(suite: Suite): string[] {
  const errors: string[] = [];
  suite.cells.forEach((c, i) => {
    if (c && typeof c.config === 'object' && c.config !== null && !validateCountCell(c.config))
      errors.push(...(validateCountCell.errors ?? []).map((e) => describe(e, `/cells/${i}/config`)));
  });
  return errors;
}

/**
 * A training suite's cells and scales: configs, `scale` and `scaled` overrides are pre-training
 * config fields; `scaledExtras` names the further sections a cell's `scaled` may hold (an
 * evaluation suite's `probe`, `transfer`).
 */
export function trainingCellErrors(suite: Suite, scaledExtras: readonly string[] = []): string[] {
  const errors: string[] = [];
  const check = (over: unknown, at: string) => {
    if (typeof over !== 'object' || over === null) return;
    const rest = Object.fromEntries(Object.entries(over).filter(([k]) => !scaledExtras.includes(k)));
    if (!validatePretrainCell(rest)) errors.push(...(validatePretrainCell.errors ?? []).map((e) => describe(e, at)));
  };
  suite.cells.forEach((c, i) => {
    if (c && typeof c.config === 'object' && c.config !== null && !validatePretrainCell(c.config))
      errors.push(...(validatePretrainCell.errors ?? []).map((e) => describe(e, `/cells/${i}/config`)));
    for (const [preset, over] of Object.entries(c?.scaled ?? {})) check(over, `/cells/${i}/scaled/${preset}`);
  });
  for (const [preset, over] of Object.entries(suite.scale ?? {})) {
    if (over && !validatePretrainCell(over))
      errors.push(...(validatePretrainCell.errors ?? []).map((e) => describe(e, `/scale/${preset}`)));
  }
  return errors;
}

/** The plugins a resolved config names, whose own fields its framework / optimizer sections must match. */
export interface ConfigPlugins {
  framework: { schema: TObject };
  optimizer: { schema: TObject };
  /** The data set's plugin (its presence is what is checked). */
  dataset: unknown;
}

/** The section's own fields (the plugin's), without `name` and the `common` ones. */
function ownFields(section: Record<string, unknown>, common: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(section).filter(([k]) => k !== 'name' && !common.includes(k)));
}

/**
 * Validates a fully resolved pre-training config: the common parts against the schema, the framework
 * and optimizer sections against their plugins' schemas; errors name each bad field.
 */
export function checkPretrainConfig(
  config: unknown,
  source: string,
  plugins: (names: { framework: string; optimizer: string; dataset: string }) => ConfigPlugins,
): void {
  if (!validatePretrainResolved(config)) {
    throw new Error(`${source}: invalid config:\n  ${(validatePretrainResolved.errors ?? []).map((e) => describe(e)).join('\n  ')}`);
  }
  const c = config as {
    framework: Record<string, unknown> & { name: string };
    optimizer: Record<string, unknown> & { name: string };
    data: { dataset: string };
  };
  let p: ConfigPlugins;
  try {
    p = plugins({ framework: c.framework.name, optimizer: c.optimizer.name, dataset: c.data.dataset });
  } catch (err) {
    throw new Error(`${source}: invalid config:\n  ${(err as Error).message}`);
  }
  const commonOptimizer = Object.keys((PRETRAIN_CONFIG_SCHEMA.properties.optimizer as { properties: object }).properties);
  for (const [section, schema, common] of [
    ['framework', p.framework.schema, []],
    ['optimizer', p.optimizer.schema, commonOptimizer],
  ] as const) {
    try {
      parsePluginConfig(schema, ownFields(c[section], common), section);
    } catch (err) {
      const also = common.length ? `; fields of every ${section}: ${common.filter((f) => f !== 'name').join(', ')}` : '';
      throw new Error(`${source}: invalid config:\n  ${(err as Error).message} (${section} ${c[section].name}${also})`);
    }
  }
}

/**
 * The base name of a suite's result files: its name with characters that are not portable in
 * file names (the ':' of `ablation:pos-embed`) replaced by '-', then the preset.
 */
export function resultBaseName(suiteName: string, preset?: string): string {
  const safe = suiteName.replace(/[^A-Za-z0-9_-]+/g, '-');
  return preset === undefined ? safe : `${safe}-${preset}`;
}

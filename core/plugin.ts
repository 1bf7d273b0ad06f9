/**
 * Plugin descriptors: what every interchangeable part (framework, optimiser, ...) declares about
 * itself. A descriptor names the part, gives its config as a TypeBox schema (one definition that is
 * both the JSON Schema ajv validates and, through `Static`, the TypeScript type) with a default per
 * field, an optional preset-scaling hook, and its factory (declared by each kind's own interface).
 * The container (container/) registers descriptors; suites and the CLI look them up by name.
 */
import { type Static, type TObject, type TProperties, type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { fieldPath } from './field-path.ts';

/** The kinds of plugin, each with its own service identifier in the container. */
export const PLUGIN_KINDS = ['backbone', 'framework', 'optimizer', 'dataset', 'evaluator', 'monitor', 'finetuner'] as const;
export type PluginKind = (typeof PLUGIN_KINDS)[number];

/** What every descriptor of a configurable plugin has. */
export interface ConfigurablePlugin<K extends PluginKind, S extends TObject> {
  readonly kind: K;
  /** The name suites and configs use (`framework.name`, `optimizer.name`). */
  readonly name: string;
  /** One line for `bench list`. */
  readonly title: string;
  /** The plugin's own config fields, each with its default; no other fields are allowed. */
  readonly schema: S;
  /**
   * Preset-scaling hook: the plugin's fields at a small preset (e.g. SwAV's prototype count), applied
   * after the preset's common sizes. Absent: only the common sizes change.
   */
  scale?(config: Static<S>, preset: string): Static<S>;
}

/** A string field with a fixed set of values, as a JSON-Schema `enum` (ajv then names the values). */
export function StringEnum<const T extends readonly string[]>(values: T, options: { default?: T[number]; description?: string } = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** A plugin config schema: an object of fields (each with its default) and nothing else. */
export function ConfigSchema<P extends TProperties>(properties: P) {
  return Type.Object(properties, { additionalProperties: false });
}

/** The schema's defaults as a config. */
export function schemaDefaults<S extends TObject>(schema: S): Static<S> {
  return Value.Default(schema, {}) as Static<S>;
}

/** Names of the fields a schema allows. */
export function schemaFields(schema: TObject): string[] {
  return Object.keys(schema.properties);
}

/** The schema as plain JSON Schema (TypeBox's symbol keys dropped), for composing larger schemas. */
export function plainSchema(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}

const ajv = new Ajv({ allErrors: true, strict: false });
const compiled = new WeakMap<TSchema, ValidateFunction>();

function validatorOf(schema: TSchema): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(plainSchema(schema));
    compiled.set(schema, v);
  }
  return v;
}

/** One ajv error as `<where>.<field>: <what>`. */
export function describeConfigError(e: ErrorObject, where: string): string {
  const path = e.instancePath ? fieldPath(e.instancePath) : '';
  const at = path ? `${where}.${path}` : where;
  if (e.keyword === 'additionalProperties')
    return `${where}: unknown field '${(e.params as { additionalProperty: string }).additionalProperty}'`;
  if (e.keyword === 'enum') return `${at}: ${e.message} (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})`;
  return `${at}: ${e.message}`;
}

/**
 * A plugin's config from what a run gives (any subset of its fields): the schema's defaults filled
 * in, then validated. Throws one error naming every bad field as `<where>.<field>` and the fields
 * the plugin has.
 */
export function parsePluginConfig<S extends TObject>(schema: S, given: Record<string, unknown>, where: string): Static<S> {
  const config = { ...schemaDefaults(schema), ...given };
  const check = validatorOf(schema);
  if (!check(config)) {
    const errors = (check.errors ?? []).map((e) => describeConfigError(e, where));
    throw new Error(`${errors.join('; ')} (fields: ${schemaFields(schema).join(', ')})`);
  }
  return config as Static<S>;
}

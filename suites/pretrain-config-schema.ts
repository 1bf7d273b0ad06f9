/**
 * JSON Schemas of a pre-training config, derived from its TypeBox schema (core/config.ts): the
 * resolved config (every part required), and a cell's overrides (any part of it). The framework and
 * optimizer sections' own fields are their plugins' (core/plugin.ts), checked on resolution.
 */
import { BackboneOptionsSchema, PretrainConfigSchema } from '../core/config.ts';
import { plainSchema } from '../core/plugin.ts';

type Json = Record<string, unknown>;

/** The schema with no field required, at every depth (a cell overrides any part of a config). */
function optionalEverywhere(schema: Json): Json {
  const { required: _required, ...rest } = schema;
  if (rest.type !== 'object' || typeof rest.properties !== 'object') return rest;
  const properties = Object.fromEntries(
    Object.entries(rest.properties as Record<string, Json>).map(([k, v]) => [k, optionalEverywhere(v)]),
  );
  return { ...rest, properties };
}

/** A backbone's switches, as JSON Schema properties (count cells use them too). */
export const BACKBONE_OPTIONS = (plainSchema(BackboneOptionsSchema) as { properties: Record<string, Json> }).properties;

/** A resolved config: every part. */
export const PRETRAIN_CONFIG_REQUIRED = plainSchema(PretrainConfigSchema);

/** A cell's overrides: any part of a config. */
export const PRETRAIN_CONFIG_SCHEMA = optionalEverywhere(PRETRAIN_CONFIG_REQUIRED) as Json & { properties: Record<string, Json> };

/**
 * `--set PATH=VALUE` (Hydra-style overrides): `optimizer.batch=128`, `seed=1`,
 * `framework.temperature=0.1`, `backbone.name=vit-s/16`. VALUE is read as JSON when it parses
 * (numbers, true / false, null, arrays, objects), else taken as a string. The overrides go over
 * every cell's resolved config, after its preset; the same ajv schema as a suite file then checks
 * the result, so an unknown field or a bad value is an error naming it.
 */
import { InvalidArgumentError } from 'commander';

export type Overrides = Record<string, unknown>;

/** Parses one --set flag into a nested object. */
export function parseSet(flag: string): Overrides {
  const eq = flag.indexOf('=');
  const key = eq < 0 ? '' : flag.slice(0, eq);
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(key)) {
    throw new InvalidArgumentError(`--set '${flag}': expected PATH=VALUE with a dotted field path, e.g. optimizer.batch=128`);
  }
  const raw = flag.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {}
  const parts = key.split('.');
  const out: Overrides = {};
  let at = out;
  for (const p of parts.slice(0, -1)) {
    const next: Overrides = {};
    at[p] = next;
    at = next;
  }
  at[parts[parts.length - 1]] = value;
  return out;
}

function merge(a: Overrides, b: Overrides): Overrides {
  const out: Overrides = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const old = out[k];
    const isObj = (x: unknown): x is Overrides => typeof x === 'object' && x !== null && !Array.isArray(x);
    out[k] = isObj(old) && isObj(v) ? merge(old, v) : v;
  }
  return out;
}

/** Commander's collector for a repeatable --set: the overrides merged, later flags winning. */
export function collectSet(flag: string, previous: Overrides = {}): Overrides {
  return merge(previous, parseSet(flag));
}

export { merge as mergeOverrides };

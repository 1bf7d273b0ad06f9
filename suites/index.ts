/**
 * The suite catalogue: every `suites/*.json` file, loaded and validated by name. `kindErrors` adds
 * what a suite's kind checks (kinds/index.ts passes its descriptors' checks; loaded without it, a
 * suite has passed the checks every suite shares).
 */
import { closest, distance } from 'fastest-levenshtein';
import fs from 'node:fs';
import path from 'node:path';
import { type Suite, parseSuite } from './schema.ts';
import { installRoot } from '../core/install-root.ts';

export const SUITES_DIR = path.join(installRoot(), 'suites');

export type KindErrors = (suite: Suite) => string[];

export function readSuiteFile(file: string, kindErrors?: KindErrors): Suite {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: cannot read suite: ${(err as Error).message}`);
  }
  return parseSuite(data, file, kindErrors);
}

/** Every suite in `dir`; a suite is known by its `name` field, whatever its file is called. */
export function listSuites(dir = SUITES_DIR, kindErrors?: KindErrors): Suite[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => readSuiteFile(path.join(dir, f), kindErrors));
}

/** A suite by name, or a path to a suite file. */
export function loadSuite(nameOrPath: string, dir = SUITES_DIR, kindErrors?: KindErrors): Suite {
  if (nameOrPath.endsWith('.json')) return readSuiteFile(nameOrPath, kindErrors);
  const suites = listSuites(dir, kindErrors);
  const s = suites.find((x) => x.name === nameOrPath);
  if (!s) {
    const names = suites.map((x) => x.name);
    const near = closest(nameOrPath, names);
    const hint = distance(nameOrPath, near) <= Math.max(2, Math.floor(nameOrPath.length / 3)) ? ` (did you mean '${near}'?)` : '';
    throw new Error(`unknown suite '${nameOrPath}'${hint}; known suites: ${names.join(', ')}`);
  }
  return s;
}

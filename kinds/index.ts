/**
 * The suite kinds, by name, and the suite catalogue checked by them: `loadSuite` and friends here
 * are suites/index.ts's with each suite's kind validated by its descriptor (an unknown kind names
 * the known ones). `rerenderSuite` is `bench report`: the kind's renderer on the stored results.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Suite } from '../suites/schema.ts';
import { parseSuite as parseSuiteFields } from '../suites/schema.ts';
import * as catalogue from '../suites/index.ts';
import type { Registry } from '../container/container.ts';
import type { ResultTable } from '../report/table.ts';
import type { SuiteKind } from './kind.ts';
import { flopsKind, paramsKind } from './count.ts';
import { pretrainKind } from './pretrain.ts';
import { linearKind } from './linear.ts';
import { transferKind } from './transfer.ts';

export type { SuiteKind } from './kind.ts';

export const SUITE_KINDS: readonly SuiteKind[] = [paramsKind, flopsKind, pretrainKind, linearKind, transferKind];

const byName = new Map(SUITE_KINDS.map((k) => [k.name, k]));

/** The descriptor of a kind, or an error naming the known kinds. */
export function suiteKind(suite: Pick<Suite, 'kind' | 'name'>): SuiteKind {
  const k = byName.get(suite.kind);
  if (!k) throw new Error(`suite ${suite.name}: unknown kind '${suite.kind}'; known kinds: ${[...byName.keys()].join(', ')}`);
  return k;
}

/** What a suite's kind checks (for the catalogue's loaders). */
export function kindErrors(suite: Suite): string[] {
  const k = byName.get(suite.kind);
  return k ? k.validate(suite) : [`kind: unknown kind '${suite.kind}' (known: ${[...byName.keys()].join(', ')})`];
}

export const parseSuite = (data: unknown, source: string): Suite => parseSuiteFields(data, source, kindErrors);
export const readSuiteFile = (file: string): Suite => catalogue.readSuiteFile(file, kindErrors);
export const listSuites = (dir = catalogue.SUITES_DIR): Suite[] => catalogue.listSuites(dir, kindErrors);
export const loadSuite = (nameOrPath: string, dir = catalogue.SUITES_DIR): Suite => catalogue.loadSuite(nameOrPath, dir, kindErrors);
export { SUITES_DIR } from '../suites/index.ts';

/** The preset a run or report of the suite is for: the given one, else the suite's, else tiny; none for counting kinds. */
export function reportPreset(suite: Suite, preset?: string): string | undefined {
  return suiteKind(suite).counts ? undefined : (preset ?? suite.preset ?? 'tiny');
}

export interface RerenderOptions {
  /** Default: the suite's own preset, else tiny (as `bench run`). */
  preset?: string;
  resultsDir: string;
  registry: Registry;
}

export interface Rerendered {
  table: ResultTable;
  files: string[];
  /** The page written (NAME.html). */
  html: string;
  /** Undefined for counting suites (they have no preset). */
  preset?: string;
}

/** `bench report`: the suite's tables, figures and page re-rendered from its stored results, nothing run. */
export function rerenderSuite(suite: Suite, o: RerenderOptions): Rerendered {
  const preset = reportPreset(suite, o.preset);
  const out = suiteKind(suite).render(suite, preset, o);
  const html = fs.readFileSync(path.join(o.resultsDir, `${out.table.name}.html`), 'utf8');
  return { ...out, html, preset };
}

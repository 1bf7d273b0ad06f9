/**
 * Users' own plugins: a plugin file is an ES module (TypeScript or JavaScript) whose default export
 * is a plugin descriptor (a framework from `defineFramework`, a backbone family, an optimiser from
 * `defineOptimizer`, ...) or an array of them. `bench run --plugin FILE` (repeatable) and the
 * SSLBENCH_PLUGINS environment variable (files separated by the platform's path delimiter, so that
 * queue workers load the same plugins) bind them beside the built-in ones (README, "Adding a framework").
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AnyPlugin } from './tokens.ts';
import { Registry, buildContainer, kindOf } from './container.ts';

/** The plugin files named by SSLBENCH_PLUGINS. */
export function envPluginFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.SSLBENCH_PLUGINS ?? '').split(path.delimiter).filter((f) => f.trim() !== '');
}

/** The descriptors a plugin file exports by default; errors name the file. */
export async function loadPluginFile(file: string): Promise<AnyPlugin[]> {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw new Error(`--plugin: '${file}' does not exist`);
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(abs).href)) as { default?: unknown };
  } catch (err) {
    throw new Error(`--plugin: cannot load '${file}': ${(err as Error).message}`, { cause: err });
  }
  const list = Array.isArray(mod.default) ? mod.default : [mod.default];
  if (mod.default === undefined || list.some((p) => typeof p !== 'object' || p === null)) {
    throw new Error(`--plugin: '${file}' must default-export a plugin descriptor or an array of them`);
  }
  for (const p of list as AnyPlugin[]) {
    try {
      kindOf(p);
    } catch (err) {
      throw new Error(`--plugin: '${file}': ${(err as Error).message}`, { cause: err });
    }
  }
  return list as AnyPlugin[];
}

/** A registry of the built-in plugins and those of `files` and SSLBENCH_PLUGINS (each file once). */
export async function registryWithPlugins(files: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<Registry> {
  const all = [...new Set([...envPluginFiles(env), ...files].map((f) => path.resolve(f)))];
  const extra: AnyPlugin[] = [];
  for (const f of all) extra.push(...(await loadPluginFile(f)));
  return new Registry(buildContainer(extra));
}

/**
 * Where sslbench's own files are: the folder with sslbench's package.json, found from this module
 * upwards. In a checkout that is the repository root; in the offline bundle (packaging/bundle.mjs)
 * it is the bundle's folder, which holds the same data files (suites/, claims/, native/) beside the
 * bundled JavaScript. Every file sslbench reads from its own installation goes through here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function installRoot(): string {
  if (root) return root;
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'sslbench') {
      root = dir;
      return dir;
    }
    if (path.dirname(dir) === dir) throw new Error(`sslbench: no package.json named sslbench above ${start}: a broken installation`);
  }
}

/** True when running from the offline bundle (its package.json says so) rather than a checkout. */
export function isBundle(): boolean {
  return fs.existsSync(path.join(installRoot(), 'bench.mjs')) && !fs.existsSync(path.join(installRoot(), 'cli', 'main.ts'));
}

/**
 * A script sslbench runs in another process or thread (the queue worker's child, the image-decode
 * workers): in a checkout its TypeScript source through tsx's loader (by URL, so it runs whatever
 * the working folder is); in the offline bundle its bundled `<bundleName>.mjs`.
 */
export function scriptEntry(source: string, bundleName: string): { file: string; execArgv: string[] } {
  if (isBundle()) return { file: path.join(installRoot(), `${bundleName}.mjs`), execArgv: [] };
  return { file: path.join(installRoot(), source), execArgv: ['--import', import.meta.resolve('tsx')] };
}

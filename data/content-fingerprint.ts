/**
 * What a data folder holds, independent of where it is mounted: the SHA-256 over its files'
 * relative paths, sizes and (up to CONTENT_LIMIT bytes in all) contents. A cell's config hash uses
 * it instead of `data.path` (runner/cell-hash.ts), so the same files in another folder, or on
 * another node of a cluster, are the same cells. Larger folders (ImageNet) are identified by their
 * listing (paths and sizes) only: reading 150 GB to name a run is not an option. Hidden files
 * (a leading dot) are left out. Cached per process by folder.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Folders of at most this many bytes are fingerprinted by content; larger ones by their listing. */
export const CONTENT_LIMIT = 2 ** 30;

const cache = new Map<string, string>();

function listFiles(root: string): { rel: string; size: number }[] {
  const out: { rel: string; size: number }[] = [];
  const walk = (dir: string) => {
    const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const full = path.join(dir, e.name);
      const st = fs.statSync(full); // follows links, as the readers do
      if (st.isDirectory()) walk(full);
      else if (st.isFile()) out.push({ rel: path.relative(root, full).split(path.sep).join('/'), size: st.size });
    }
  };
  walk(root);
  return out;
}

/** The fingerprint of the data at `p` (a folder, or a single file), e.g. `content:3fa2...` or `listing:91bc...`. */
export function contentFingerprint(p: string): string {
  const abs = path.resolve(p);
  const hit = cache.get(abs);
  if (hit) return hit;
  if (!fs.existsSync(abs)) throw new Error(`data.path: ${abs} does not exist`);
  const isDir = fs.statSync(abs).isDirectory();
  const files = isDir ? listFiles(abs) : [{ rel: path.basename(abs), size: fs.statSync(abs).size }];
  const total = files.reduce((s, f) => s + f.size, 0);
  const h = createHash('sha256');
  const byContent = total <= CONTENT_LIMIT;
  for (const f of files) {
    h.update(`${f.rel}\0${f.size}\0`);
    if (byContent) h.update(fs.readFileSync(isDir ? path.join(abs, f.rel) : abs));
  }
  const out = `${byContent ? 'content' : 'listing'}:${h.digest('hex').slice(0, 16)}`;
  cache.set(abs, out);
  return out;
}

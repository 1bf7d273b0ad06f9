/**
 * A cell's config hash, with its data identified by content (issue 27): the fingerprint of the
 * files at `data.path` (data/content-fingerprint.ts) stands for the path, which stays in the
 * config and the provenance. Configs without a path (the embedded and Debian-installed sets) hash
 * as before. Run folders named by the path-based hash of earlier sslbench versions are moved to their
 * new name once, when a run needs them (`adoptLegacyRunDir`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { configHash, dataByContent, type DataConfig, type PretrainConfig } from '../core/config.ts';
import { contentFingerprint } from '../data/content-fingerprint.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';

export function cellHash(c: PretrainConfig): string {
  return c.data.path === undefined ? configHash(c) : configHash(c, contentFingerprint(c.data.path));
}

/** The data config as cache keys see it (probes, floors): by content, not by path. */
export function dataIdentity(d: DataConfig): DataConfig {
  return d.path === undefined ? d : dataByContent(d, contentFingerprint(d.path));
}

/**
 * When `runDir` (named by the content hash) does not exist but the folder the path-based hash named
 * does, moves it there and rewrites the hash its config.json and result.json record; says so.
 */
export function adoptLegacyRunDir(c: PretrainConfig, runDir: string, log: (line: string) => void): void {
  if (c.data.path === undefined || fs.existsSync(runDir)) return;
  const legacyHash = configHash(c);
  const hash = cellHash(c);
  const legacy = path.join(path.dirname(runDir), path.basename(runDir).replace(new RegExp(`${hash}$`), legacyHash));
  if (legacy === runDir || !fs.existsSync(legacy)) return;
  fs.renameSync(legacy, runDir);
  for (const f of ['config.json', 'result.json']) {
    const file = path.join(runDir, f);
    if (!fs.existsSync(file)) continue;
    const j = JSON.parse(fs.readFileSync(file, 'utf8')) as { hash?: string };
    if (j.hash === legacyHash) writeFileAtomic(file, `${JSON.stringify({ ...j, hash }, null, 2)}\n`);
  }
  log(`${legacy}: named by the data's path (an earlier sslbench); moved to ${runDir}, named by the data's content`);
}

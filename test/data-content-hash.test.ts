/**
 * The config hash identifies data by content, not by path (issue 27, item 3): the same files in
 * another folder are the same cell; different files are another; a run folder named by the old
 * path-based hash is moved to its new name once, its records rewritten.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configHash, deepMerge, type PretrainConfig } from '../core/config.ts';
import { adoptLegacyRunDir, cellHash, dataIdentity } from '../runner/cell-hash.ts';
import { contentFingerprint } from '../data/content-fingerprint.ts';
import { localConfig } from '../queue/local-config.ts';
import { smallPretrainConfig } from './helpers/small-pretrain.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-content-'));

function folder(name: string, files: Record<string, string>): string {
  const dir = path.join(tmp, name);
  for (const [f, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), body);
  }
  return dir;
}

const FILES = { 'train-images-idx3-ubyte': 'images', 'train-labels-idx1-ubyte': 'labels', 'sub/t10k.bin': 'test' };
const withPath = (p: string): PretrainConfig => deepMerge(smallPretrainConfig(), { data: { dataset: 'fashion-mnist', path: p } });

describe('data identified by content', () => {
  it('the same files in two folders: one hash; one changed byte, a renamed file: other hashes; no path: as before', () => {
    const a = folder('a', FILES);
    const b = folder('mnt/elsewhere/b', FILES);
    const changed = folder('c', { ...FILES, 'sub/t10k.bin': 'tesT' });
    const { 'sub/t10k.bin': _moved, ...rest } = FILES;
    const renamed = folder('d', { ...rest, 'sub/t10k2.bin': 'test' });
    assert.notEqual(configHash(withPath(a)), configHash(withPath(b)), 'the path-based hash differs');
    assert.equal(cellHash(withPath(a)), cellHash(withPath(b)));
    assert.notEqual(cellHash(withPath(a)), cellHash(withPath(changed)));
    assert.notEqual(cellHash(withPath(a)), cellHash(withPath(renamed)));
    const none = smallPretrainConfig();
    assert.equal(cellHash(none), configHash(none), 'configs without a path hash as before (committed results keep their folders)');
    assert.match(contentFingerprint(a), /^content:[0-9a-f]{16}$/);
    assert.deepEqual(dataIdentity(withPath(a).data), dataIdentity(withPath(b).data), 'probe and floor caches keyed alike');
    assert.throws(() => cellHash(withPath(path.join(tmp, 'missing'))), /data\.path: .*missing does not exist/);
  });

  it('hidden files are left out (a .DS_Store or an editor file does not rename the cells)', () => {
    const a = folder('h1', FILES);
    const b = folder('h2', { ...FILES, '.DS_Store': 'x' });
    assert.equal(contentFingerprint(a), contentFingerprint(b));
  });

  it('a run folder named by the path-based hash is moved to the content-based name, with its records', () => {
    const data = folder('legacy-data', FILES);
    const c = withPath(data);
    const runs = path.join(tmp, 'runs', 'smoke');
    const legacyDir = path.join(runs, `mocov3-vit-micro-4-${configHash(c)}`);
    fs.mkdirSync(legacyDir, { recursive: true });
    fs.writeFileSync(path.join(legacyDir, 'config.json'), JSON.stringify({ hash: configHash(c), config: c }));
    fs.writeFileSync(path.join(legacyDir, 'result.json'), JSON.stringify({ hash: configHash(c), iterations: 16 }));
    const runDir = path.join(runs, `mocov3-vit-micro-4-${cellHash(c)}`);
    const said: string[] = [];
    adoptLegacyRunDir(c, runDir, (l) => said.push(l));
    assert.ok(!fs.existsSync(legacyDir) && fs.existsSync(runDir));
    assert.equal(JSON.parse(fs.readFileSync(path.join(runDir, 'result.json'), 'utf8')).hash, cellHash(c));
    assert.equal(JSON.parse(fs.readFileSync(path.join(runDir, 'config.json'), 'utf8')).hash, cellHash(c));
    assert.match(said.join('\n'), /named by the data's path \(an earlier sslbench\); moved to .*named by the data's content/);
    // once moved, nothing more happens
    adoptLegacyRunDir(c, runDir, () => assert.fail('moved twice'));
  });
});

describe('bench worker --data: the cell on a machine that mounts its data elsewhere', () => {
  it('the same files elsewhere run the enqueued cell; other files are refused naming the flag', () => {
    const here = folder('node1/fmnist', FILES);
    const there = folder('node2/data/fmnist', FILES);
    const other = folder('node3/fmnist', { ...FILES, 'train-labels-idx1-ubyte': 'LABELS' });
    const config = withPath(here);
    const start = { config, runDir: '/x', backend: 'wasm', native: false, marker: 'm', hash: cellHash(config) };
    assert.equal(localConfig(start), config, 'no --data: as enqueued');
    assert.equal(localConfig({ ...start, dataPath: there }).data.path, there);
    assert.throws(
      () => localConfig({ ...start, dataPath: other }),
      /--data .*node3\/fmnist: the files there are not the data this cell was enqueued with \(config hash [0-9a-f]{12}, the cell's/,
    );
    const embedded = smallPretrainConfig();
    assert.throws(() => localConfig({ ...start, config: embedded, hash: cellHash(embedded), dataPath: there }), /without a data folder/);
  });
});

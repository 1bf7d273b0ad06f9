/**
 * Fault probe 4 of the reliability work: a suite's results are written as one set. With the disk
 * full (a real 64 KiB tmpfs where the test may mount one; an injected ENOSPC always) the previous
 * set stays whole, no temporary file is left, and the error names the file; a set whose renames a
 * kill interrupted is finished by the next writer; a killed writer's temporaries are removed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSuiteOutputs, type SuiteOutputs } from '../report/suite-outputs.ts';
import { deadPid } from './helpers/processes.ts';
import { recoverFileSets } from '../core/file-set.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';
import type { ResultTable } from '../report/table.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-results-set-'));

function outputs(version: string, pad = 0): SuiteOutputs {
  const table: ResultTable = {
    name: 'probe-tiny',
    title: `probe ${version}`,
    columns: [
      { key: 'cell', header: 'Cell' },
      { key: 'value', header: 'Value' },
    ],
    rows: [{ cell: 'a', value: version }],
    notes: [`version ${version}`, 'x'.repeat(pad)],
  };
  return { table, json: { version }, figures: [{ file: 'probe-tiny-knn.svg', svg: `<svg>${version}</svg>` }] as SuiteOutputs['figures'] };
}

const snapshot = (dir: string) =>
  Object.fromEntries(
    fs
      .readdirSync(dir)
      .sort()
      .map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]),
  );

describe('a results set is all or nothing', () => {
  it('an injected ENOSPC on the last file: the old set is untouched, no temporaries, the error names the file', () => {
    const dir = path.join(tmp, 'inject');
    const first = writeSuiteOutputs(dir, outputs('v1'));
    assert.deepEqual(first.map((f) => path.basename(f)).sort(), [
      'probe-tiny-knn.svg',
      'probe-tiny.csv',
      'probe-tiny.html',
      'probe-tiny.json',
      'probe-tiny.md',
    ]);
    const before = snapshot(dir);
    const orig = fs.writeFileSync;
    fs.writeFileSync = ((file: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
      if (String(file).includes('.html.tmp-')) {
        const e = new Error('ENOSPC: no space left on device, write') as NodeJS.ErrnoException;
        e.code = 'ENOSPC';
        throw e;
      }
      return (orig as (...a: unknown[]) => void)(file, ...rest);
    }) as typeof fs.writeFileSync;
    try {
      assert.throws(
        () => writeSuiteOutputs(dir, outputs('v2')),
        new RegExp(`^Error: ${path.join(dir, 'probe-tiny.html')}: cannot write \\(ENOSPC: no space left on the device\\)$`),
      );
    } finally {
      fs.writeFileSync = orig;
    }
    assert.deepEqual(snapshot(dir), before, 'md/csv/json/svg of v1, not v2');
    writeSuiteOutputs(dir, outputs('v2'));
    assert.match(fs.readFileSync(path.join(dir, 'probe-tiny.md'), 'utf8'), /version v2/);
    assert.match(fs.readFileSync(path.join(dir, 'probe-tiny.html'), 'utf8'), /version v2/);
  });

  it('a real full tmpfs: the second, larger set does not fit; the first stays whole', (t) => {
    const dir = path.join(tmp, 'tmpfs');
    fs.mkdirSync(dir);
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]).status !== 0) {
      t.skip('cannot mount a tmpfs here (needs root); the injected ENOSPC above covers the same path');
      return;
    }
    try {
      writeSuiteOutputs(dir, outputs('v1'));
      const before = snapshot(dir);
      assert.throws(() => writeSuiteOutputs(dir, outputs('v2', 200_000)), /: cannot write \(ENOSPC: no space left on the device\)$/);
      assert.deepEqual(snapshot(dir), before);
    } finally {
      spawnSync('umount', [dir]);
    }
  });

  it('writeFileAtomic: a failed write removes its temporary and names the file', () => {
    const dir = path.join(tmp, 'ro');
    fs.mkdirSync(dir);
    const file = path.join(dir, 'missing-folder', 'x.json');
    fs.writeFileSync(path.join(dir, 'missing-folder'), 'a file where a folder should be');
    assert.throws(() => writeFileAtomic(file, '{}'), new RegExp(`^Error: ${file}: cannot write`));
    assert.deepEqual(fs.readdirSync(dir), ['missing-folder']);
  });

  it("a set whose renames a kill interrupted is finished; a dead writer's temporaries go", () => {
    const dir = path.join(tmp, 'journal');
    writeSuiteOutputs(dir, outputs('v1'));
    const pid = deadPid();
    // the dead writer had written every temporary and its journal, and renamed the md only
    const names = ['probe-tiny.md', 'probe-tiny.csv', 'probe-tiny.json'];
    const renames = names.map((n) => [path.join(dir, `${n}.tmp-${pid}`), path.join(dir, n)]);
    for (const [tmpFile] of renames.slice(1)) fs.writeFileSync(tmpFile, 'v3');
    fs.writeFileSync(path.join(dir, 'probe-tiny.md'), 'v3');
    fs.writeFileSync(path.join(dir, `.file-set-${pid}.json`), JSON.stringify(renames));
    fs.writeFileSync(path.join(dir, `other.svg.tmp-${pid}`), 'orphan');
    const done = recoverFileSets(dir);
    assert.equal(done.length, 3, done.join('\n'));
    for (const n of names) assert.equal(fs.readFileSync(path.join(dir, n), 'utf8'), 'v3');
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.includes('.tmp-') || f.startsWith('.file-set-')),
      [],
    );
  });
});

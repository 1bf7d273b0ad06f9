/**
 * Written results name no machine's absolute path (issue 27, item 5): command lines are recorded
 * relative to the working folder or as `…/name`, a run's weights by their name in the run folder, and
 * every committed result file and run record is checked.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { portableCommand } from '../core/provenance.ts';
import { readResult } from '../runner/pretrain.ts';

const root = path.resolve(import.meta.dirname, '..');

describe('portable results', () => {
  it('command lines: paths inside the working folder relative, others as …/name, also after =', () => {
    assert.equal(
      portableCommand(
        ['bench', 'run', 'x', '--runs', '/work/main/runs', '--results', '/tmp/res', '--set', 'data.path=/srv/d/fm'],
        '/work/main',
      ),
      'bench run x --runs runs --results …/res --set data.path=…/fm',
    );
    assert.equal(portableCommand(['bench', 'run', 'mocov3'], '/w'), 'bench run mocov3');
  });

  it('no committed result file or run record names a path under a user folder (/work, /tmp, /home, /root, /Users)', () => {
    const files = fs.readdirSync(path.join(root, 'results')).map((f) => path.join('results', f));
    // the run records committed for resumable campaigns (runs/small/...: results, configs, probes, floors)
    const tracked = spawnSync('git', ['ls-files', '-z', 'runs'], { cwd: root, encoding: 'utf8' });
    assert.equal(tracked.status, 0, tracked.stderr);
    const records = tracked.stdout.split('\0').filter(Boolean);
    assert.ok(
      records.some((f) => f.endsWith('result.json')),
      'run records are committed',
    );
    const bad: string[] = [];
    for (const f of [...files, ...records]) {
      const text = fs.readFileSync(path.join(root, f), 'utf8');
      const m = /(^|[\s"'`(=])\/(work|tmp|home|root|Users)\/[^\s"'`)]*/.exec(text);
      if (m) bad.push(`${f}: ${m[0].trim()}`);
    }
    assert.deepEqual(bad, []);
  });

  it("a run's result.json stores its weights' file name; readResult gives the path in the run folder (old absolute ones kept)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-portable-'));
    try {
      fs.writeFileSync(path.join(dir, 'result.json'), JSON.stringify({ weights: 'backbone.safetensors', final: {} }));
      assert.equal(readResult(dir)?.weights, path.join(dir, 'backbone.safetensors'));
      fs.writeFileSync(path.join(dir, 'result.json'), JSON.stringify({ weights: '/elsewhere/backbone.safetensors', final: {} }));
      assert.equal(readResult(dir)?.weights, '/elsewhere/backbone.safetensors');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the claims page gives its summary first and colours each verdict', () => {
    const html = fs.readFileSync(path.join(root, 'results', 'claims-tiny.html'), 'utf8');
    const summary = html.search(/\d+ claims: \d+ reproduced, \d+ contradicted, \d+ within noise, \d+ not testable, \d+ not run\./);
    assert.match(html, /td\.v-not-testable \{ background: /);
    assert.ok(summary > 0 && summary < html.indexOf('<table'), 'the counts above the table');
    assert.match(html, /<td class="verdict v-reproduced">reproduced<\/td>/);
    assert.match(html, /td\.v-contradicted \{ background: /);
  });
});

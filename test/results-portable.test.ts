/**
 * Written results name no machine's absolute path (issue 27, item 5): command lines are recorded
 * relative to the working folder or as `…/name`, and every committed result file is checked.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { portableCommand } from '../core/provenance.ts';

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

  it('no committed result file names a path under a user folder (/work, /tmp, /home, /root, /Users)', () => {
    const dir = path.join(root, 'results');
    const bad: string[] = [];
    for (const f of fs.readdirSync(dir)) {
      const text = fs.readFileSync(path.join(dir, f), 'utf8');
      const m = /(^|[\s"'`(=])\/(work|tmp|home|root|Users)\/[^\s"'`)]*/.exec(text);
      if (m) bad.push(`${f}: ${m[0].trim()}`);
    }
    assert.deepEqual(bad, []);
  });

  it('the claims page gives its summary first and colours each verdict', () => {
    const html = fs.readFileSync(path.join(root, 'results', 'claims-tiny.html'), 'utf8');
    const summary = html.search(/\d+ claims: \d+ reproduced, \d+ contradicted, \d+ within noise, \d+ not run\./);
    assert.ok(summary > 0 && summary < html.indexOf('<table'), 'the counts above the table');
    assert.match(html, /<td class="verdict v-reproduced">reproduced<\/td>/);
    assert.match(html, /td\.v-contradicted \{ background: /);
  });
});

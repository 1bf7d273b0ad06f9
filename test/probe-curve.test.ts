import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from '../container/container.ts';
import { pretrain } from '../runner/pretrain.ts';
import { listSnapshots, snapshotFile, snapshotIters } from '../runner/snapshots.ts';
import { probeCurve } from '../runner/probe-curve.ts';
import { probeCell } from '../runner/cell-probe.ts';
import { probeCurveTable } from '../report/probe-curve.ts';
import { readSafetensors } from '../engine/safetensors.ts';
import { useBackend } from './helpers/backend.ts';
import { smallPretrainConfig } from './helpers/small-pretrain.ts';

before(async () => useBackend('wasm'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-curve-'));
const registry = new Registry();

describe('snapshots and the probe-vs-iterations curve', () => {
  it('snapshot iterations: every N epochs, before the last iteration (its weights are the final export)', () => {
    assert.deepEqual(snapshotIters(1, 8, 16), [8]);
    assert.deepEqual(snapshotIters(1, 8, 24), [8, 16]);
    assert.deepEqual(snapshotIters(2, 8, 24), [16]);
    assert.deepEqual(snapshotIters(3, 8, 24), []);
    assert.throws(() => snapshotIters(0, 8, 16), /--snapshots/);
  });

  it('a run with snapshots ends with the same weights and curves as one without; each snapshot is the backbone part-way', async () => {
    const c = smallPretrainConfig();
    const a = await pretrain(c, { runDir: path.join(tmp, 'plain'), registry });
    const dir = path.join(tmp, 'snaps');
    const b = await pretrain(c, { runDir: dir, registry, snapshotEpochs: 1 });
    assert.deepEqual(b.final, a.final);
    assert.deepEqual(b.curves.loss, a.curves.loss);
    assert.ok(
      fs.readFileSync(path.join(dir, 'backbone.safetensors')).equals(fs.readFileSync(path.join(tmp, 'plain', 'backbone.safetensors'))),
      'final weights byte-identical',
    );
    assert.deepEqual(
      listSnapshots(dir).map((s) => s.iter),
      [8],
    );
    const snap = readSafetensors(snapshotFile(dir, 8));
    const fin = readSafetensors(path.join(dir, 'backbone.safetensors'));
    assert.deepEqual([...snap.tensors.keys()].sort(), [...fin.tensors.keys()].sort(), 'the same tensors as the final export');
    assert.equal(snap.metadata?.iteration, '8');
    const name = [...fin.tensors.keys()].find((k) => k.includes('qkv.weight'))!;
    assert.notDeepEqual(snap.tensors.get(name)!.data, fin.tensors.get(name)!.data, 'eight more steps changed the weights');
  });

  it("the curve: random init at 0, each snapshot, the final probe (the cell's own cached one), all chosen on validation", async () => {
    const dir = path.join(tmp, 'snaps');
    const r = JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8'));
    const runsDir = path.join(tmp, 'store');
    const curve = await probeCurve(r.config, r.hash, dir, r, { preset: 'smoke', runsDir, registry });
    assert.deepEqual(
      curve.points.map((p) => [p.iter, p.epoch, p.source]),
      [
        [0, 0, 'random-init'],
        [8, 1, 'snapshot'],
        [16, 2, 'final'],
      ],
    );
    const own = await probeCell(r.config, r.hash, dir, { preset: 'smoke', registry });
    assert.equal(curve.points[2].top1, own.top1);
    for (const p of curve.points) assert.ok(p.valTop1 !== undefined && p.valTop1 >= 0 && p.valTop1 <= 1, 'chosen on validation');
    const best = Math.max(...curve.points.map((p) => p.valTop1!));
    assert.equal(curve.bestOnValidation.valTop1, best);
    assert.ok(
      fs.readdirSync(path.join(dir, 'snapshots')).some((f) => f.startsWith('linear-probe-iter-8-')),
      'snapshot probe cached',
    );
    // cached: a second call probes nothing (the same numbers, at once)
    const again = await probeCurve(r.config, r.hash, dir, r, {
      preset: 'smoke',
      runsDir,
      registry,
      log: () => assert.fail('probed again'),
    });
    assert.deepEqual(again, curve);
    const t = probeCurveTable('x-probe-curve', 'x', [{ id: 'cell', curve }]);
    assert.equal(t.rows.length, 3);
    assert.match(t.notes.join('\n'), /best on validation at iteration/);
  });

  it('a cell without snapshots is an error naming the flag', async () => {
    const r = JSON.parse(fs.readFileSync(path.join(tmp, 'plain', 'result.json'), 'utf8'));
    await assert.rejects(
      probeCurve(r.config, r.hash, path.join(tmp, 'plain'), r, { preset: 'smoke', runsDir: path.join(tmp, 'store'), registry }),
      /--snapshots/,
    );
  });
});

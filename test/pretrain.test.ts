import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf } from '../engine/tf.ts';
import { Registry } from '../container/container.ts';
import { presetConfig } from '../recipes/presets.ts';
import { builtinRegistry } from '../container/container.ts';
import { configHash } from '../core/config.ts';
import { pretrain } from '../runner/pretrain.ts';
import { resolveCell } from '../runner/pretrain-suite.ts';
import { readSafetensors } from '../engine/safetensors.ts';
import { useBackend } from './helpers/backend.ts';
import { smallPretrainConfig } from './helpers/small-pretrain.ts';

before(async () => useBackend('wasm'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-pretrain-'));
const registry = new Registry();

const small = smallPretrainConfig;

describe('MoCo v3 pre-training loop', () => {
  it('a loss that turns NaN ends the cell as diverged at that iteration, with its result written', async () => {
    // an absurd lr: weights overflow after the first updates and the loss becomes NaN
    const c = small({ optimizer: { baseLr: 1e36 } });
    const dir = path.join(tmp, 'diverged');
    const r = await pretrain(c, { runDir: dir, registry });
    assert.equal(r.flags.diverged, true);
    assert.ok(r.flags.divergedAt !== undefined && r.flags.divergedAt >= 1 && r.flags.divergedAt < 16, `diverged at ${r.flags.divergedAt}`);
    assert.equal(r.iterations, r.flags.divergedAt! + 1);
    assert.ok(!Number.isFinite(r.curves.loss.at(-1)!.value));
    assert.ok(
      r.curves.loss.slice(0, -1).every((p) => Number.isFinite(p.value)),
      'finite until then',
    );
    assert.ok(Number.isNaN(r.final.knn), 'no evaluation of a diverged backbone');
    assert.ok(fs.existsSync(path.join(dir, 'result.json')), 'result written: the suite goes on, and a rerun skips it');
    assert.ok(!fs.existsSync(path.join(dir, 'backbone.safetensors')), 'no weights exported');
  });

  it(
    'monitor.bank: the monitor is kNN of fixed held-out queries against a fixed bank of training images, ' + 're-extracted each time',
    async () => {
      // bank = the whole training set, queries = the whole held-out set, the same k and T: the
      // last monitor point (after the last iteration) is then exactly the final kNN evaluation
      const c = small({ monitor: { bank: 128, queries: 64, k: 200, temperature: 0.07 }, knn: { k: 200, temperature: 0.07 } });
      const r = await pretrain(c, { runDir: path.join(tmp, 'bank'), registry });
      assert.equal(r.final.knnMonitor, r.final.knn);
      // the monitor's random-init floor under its own protocol: here the full sets, so the full-set floor
      assert.equal(r.final.knnMonitorRandomInit, r.final.knnRandomInit);
      assert.equal(r.curves.knn.length, 4, 'every 4 of 16 iterations');
      // a smaller bank is a different classifier: a different first point than the queue's
      const q = await pretrain(small(), { runDir: path.join(tmp, 'queue'), registry });
      assert.notEqual(q.curves.knn[0].value, r.curves.knn[0].value);
      assert.equal(q.final.knnMonitorRandomInit, undefined, 'the queue monitor is empty at random init: no floor');
      assert.ok(
        !fs.readFileSync(path.join(tmp, 'bank', 'ckpt-16.safetensors')).includes('monitor.'),
        "no queue state in a bank run's checkpoint",
      );
    },
  );

  it('a run killed after its first checkpoint and restarted ends with the same final metrics', async () => {
    const c = small();
    const a = await pretrain(c, { runDir: path.join(tmp, 'a'), registry });
    const dirB = path.join(tmp, 'b');
    await assert.rejects(pretrain(c, { runDir: dirB, registry, crashAfterIter: 6 }), /simulated crash after iteration 6/);
    assert.ok(fs.existsSync(path.join(dirB, 'ckpt-4.safetensors')), 'checkpoint of iteration 4 exists');
    assert.ok(!fs.existsSync(path.join(dirB, 'result.json')));
    let resumedFrom = -1;
    const b = await pretrain(c, { runDir: dirB, registry, onProgress: (p) => (resumedFrom = p.startIter) });
    assert.equal(resumedFrom, 4, 'resumed at the checkpoint');
    assert.deepEqual(b.final, a.final);
    assert.deepEqual(
      b.curves.loss.map((p) => p.value),
      a.curves.loss.map((p) => p.value),
    );
    assert.deepEqual(b.curves.knn, a.curves.knn);
    assert.equal(a.iterations, 16);
    assert.equal(a.hash, configHash(c));
    // a finished cell is not run again
    const again = await pretrain(c, { runDir: dirB, registry, onProgress: () => assert.fail('must not train') });
    assert.equal(again.finishedAt, b.finishedAt);
    // the backbone's weights are exported with timm names
    const w = readSafetensors(a.weights).tensors;
    assert.ok(w.has('blocks.0.attn.qkv.weight') && w.has('cls_token') && !w.has('head.0.weight'));
  });

  it('the number of live tensors is the same after step 10 and step 100', async () => {
    const c = small({ optimizer: { epochs: 13 }, monitor: { every: 7 }, checkpointEvery: 50 });
    const counts = new Map<number, number>();
    await pretrain(c, { runDir: path.join(tmp, 'count'), registry, onProgress: (p) => counts.set(p.iter, tf.memory().numTensors) });
    assert.ok(counts.has(100), 'ran 100 steps');
    assert.equal(counts.get(100), counts.get(10));
  });

  it('the paper preset resolves to the ViT-B recipe and asks for ImageNet', () => {
    const c = presetConfig('paper', builtinRegistry().frameworks);
    assert.equal(c.backbone.name, 'vit-b/16');
    assert.equal(c.optimizer.batch, 4096);
    assert.equal(c.optimizer.baseLr, 1.5e-4);
    assert.equal(c.optimizer.weightDecay, 0.1);
    assert.equal(c.optimizer.epochs, 300);
    assert.equal(c.optimizer.warmupEpochs, 40);
    assert.equal(c.framework.tau, 0.2);
    assert.equal(c.framework.mlpDim, 4096);
    assert.equal(c.augment.cropMin, 0.08);
    const suite = { name: 'mocov3', title: 't', reference: 'r', kind: 'pretrain' as const, cells: [{ id: 'x', config: {} }] };
    assert.throws(
      () => resolveCell(suite, suite.cells[0], { registry: builtinRegistry(), preset: 'paper', runsDir: tmp }),
      /data\.path: .*--data PATH to an ImageFolder root/,
    );
    assert.throws(
      () => presetConfig('huge', builtinRegistry().frameworks),
      /--preset: unknown preset 'huge'; known presets: paper, tiny, small, smoke/,
    );
  });

  it('a bad resolved config names the field', () => {
    // cell config is paper scale (a preset's sizes replace it); `scaled` overrides at one preset
    const suite = {
      name: 's',
      title: 't',
      reference: 'r',
      kind: 'pretrain' as const,
      cells: [{ id: 'x', config: { optimizer: { batch: 0 } }, scaled: { smoke: { optimizer: { batch: 1 } } } }],
    };
    assert.throws(
      () =>
        resolveCell(suite, suite.cells[0], {
          registry: builtinRegistry(),
          preset: 'paper',
          runsDir: tmp,
          overrides: { data: { dataset: 'synthetic' } },
        }),
      /optimizer\.batch: must be >= 2/,
    );
    assert.throws(
      () => resolveCell(suite, suite.cells[0], { registry: builtinRegistry(), preset: 'smoke', runsDir: tmp }),
      /optimizer\.batch: must be >= 2/,
    );
    const ok = { ...suite, cells: [{ id: 'x', config: { optimizer: { batch: 0 } } }] };
    assert.equal(resolveCell(ok, ok.cells[0], { registry: builtinRegistry(), preset: 'smoke', runsDir: tmp }).config.optimizer.batch, 32);
  });
});

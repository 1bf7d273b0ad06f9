/**
 * A user's own framework and backbone, written in files outside the source tree (as README's
 * "Adding a framework" shows) against sslbench as a package: `npm pack` makes the tarball a user
 * would install, it is unpacked into a project's node_modules, the plugin files import
 * `sslbench/plugin` by name, and that installed copy's `bench` (and `sslbench`'s `runSuite`) runs
 * them as a smoke-preset suite: no file of sslbench is touched or reached by path. The framework
 * is a small SimSiam-like one (its module and its loss); the backbone a one-layer MLP family.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { registryWithPlugins } from '../container/plugin-files.ts';
import { buildFramework } from '../frameworks/framework.ts';

const root = path.resolve(import.meta.dirname, '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-plugin-'));
const src = (p: string) => JSON.stringify(path.join(root, p));

// the user's project: sslbench unpacked from its tarball, its dependencies beside it (linked from
// this checkout: the test installs nothing from a registry)
const modules = path.join(dir, 'node_modules');
fs.mkdirSync(modules);
const packed = spawnSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8' });
if (packed.status !== 0) throw new Error(`npm pack failed: ${packed.stderr}`);
const tarball = path.join(dir, (JSON.parse(packed.stdout) as { filename: string }[])[0].filename);
const untar = spawnSync('tar', ['xzf', tarball, '-C', modules], { encoding: 'utf8' });
if (untar.status !== 0) throw new Error(`tar: ${untar.stderr}`);
fs.renameSync(path.join(modules, 'package'), path.join(modules, 'sslbench'));
for (const e of fs.readdirSync(path.join(root, 'node_modules'))) {
  if (e.startsWith('.')) continue;
  fs.symlinkSync(path.join(root, 'node_modules', e), path.join(modules, e));
}
const installed = path.join(modules, 'sslbench');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The framework's loss: negative cosine similarity of predictions and (stop-gradient) targets. */
const LOSS = `
import { tf, l2Normalize } from 'sslbench/plugin';
export function negativeCosine(p: tf.Tensor2D, z: tf.Tensor2D): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(l2Normalize(p), l2Normalize(z)), 1))) as tf.Scalar;
}
`;

/** The framework: backbone + projector, a predictor on the online path, targets computed outside the tape. */
const FRAMEWORK = `
import { ConfigSchema, Linear, Module, Rng, Type, defineFramework, tf } from 'sslbench/plugin';
import { negativeCosine } from './siamese-loss.ts';

class Net extends Module {
  constructor(readonly backbone, readonly proj, readonly pred) {
    super();
    this.addChild(backbone); this.addChild(proj); this.addChild(pred);
  }
}

export default defineFramework({
  name: 'siamese-lite',
  title: 'a SimSiam-like framework from a plugin file',
  schema: ConfigSchema({
    outDim: Type.Integer({ minimum: 1, default: 16 }),
    weight: Type.Number({ exclusiveMinimum: 0, default: 1 }),
  }),
  scale: (c, preset) => (preset === 'smoke' ? { ...c, outDim: 8 } : c),
  build(c, ctx) {
    const backbone = ctx.buildBackbone(ctx.backboneName, ctx.backboneOptions, ctx.seed);
    const rng = new Rng(ctx.seed + 7);
    const proj = new Linear('proj', backbone.outDim, c.outDim, rng);
    const pred = new Linear('pred', c.outDim, c.outDim, rng);
    const net = new Net(backbone, proj, pred);
    const target = (x) => proj.apply(backbone.apply(x, true));
    return {
      name: 'siamese-lite',
      backbone,
      trainableParams: () => net.trainableParams(),
      prepare: (v1, v2) => tf.tidy(() => [target(v1), target(v2)]),
      loss(v1, v2, prepared) {
        const [z1, z2] = prepared;
        const f1 = backbone.apply(v1, true);
        const p1 = pred.apply(proj.apply(f1));
        const p2 = pred.apply(proj.apply(backbone.apply(v2, true)));
        const loss = tf.mul(tf.add(negativeCosine(p1, z2), negativeCosine(p2, z1)), c.weight);
        return { loss, features: f1 };
      },
      modules: () => ({ net }),
      dispose: () => net.dispose(),
    };
  },
});
`;

/** The backbone family: flatten, one Linear layer, ReLU. */
const BACKBONE = `
import { Linear, Module, Rng, defineBackbone, tf } from 'sslbench/plugin';

const WIDTH = 24;
class FlatMlp extends Module {
  constructor(readonly name, readonly imageSize, seed) {
    super();
    this.outDim = WIDTH;
    this.fc = this.addChild(new Linear('fc', imageSize * imageSize * 3, WIDTH, new Rng(seed)));
  }
  apply(x, _training) {
    return tf.relu(this.fc.apply(tf.reshape(x, [x.shape[0], -1])));
  }
}
const inputs = (o) => (o?.imageSize ?? 16) ** 2 * 3;

export default defineBackbone({
  family: 'flat-mlp',
  title: 'flatten + Linear + ReLU (a plugin file)',
  build: (name, o, seed) => new FlatMlp(name, o.imageSize ?? 16, seed),
  countParams: (_n, o) => inputs(o) * WIDTH + WIDTH,
  countMacs: (_n, o) => inputs(o) * WIDTH,
  describe: () => ({ outDim: WIDTH, blocks: 1 }),
});
`;

const SUITE = {
  name: 'plugin-smoke',
  title: 'a plugin framework on a plugin backbone (smoke)',
  reference: 'README, Adding a framework',
  kind: 'pretrain',
  preset: 'smoke',
  cells: [
    {
      id: 'siamese-lite',
      config: { framework: { name: 'siamese-lite', weight: 2 }, backbone: { name: 'flat-mlp' } },
      scaled: { smoke: { backbone: { name: 'flat-mlp' } } },
    },
  ],
};

fs.writeFileSync(path.join(dir, 'siamese-loss.ts'), LOSS);
fs.writeFileSync(path.join(dir, 'siamese.ts'), FRAMEWORK);
fs.writeFileSync(path.join(dir, 'flat-mlp.ts'), BACKBONE);
fs.writeFileSync(path.join(dir, 'suite.json'), JSON.stringify(SUITE));
// a user's project: an ES-module package that depends on sslbench
fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true, dependencies: { sslbench: '*' } }));

/** The installed package's `bench` command (its bin), run in the user's project. */
function bench(env: NodeJS.ProcessEnv, ...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(installed, 'bin/bench.mjs'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('a framework and a backbone from plugin files outside the source tree', () => {
  it('registers beside the built-ins: typed lookup, schema defaults, validation naming the field, duplicate names refused', async () => {
    const reg = await registryWithPlugins([path.join(dir, 'siamese.ts'), path.join(dir, 'flat-mlp.ts')], {});
    assert.ok(reg.frameworks.names().includes('siamese-lite') && reg.frameworks.names().includes('mocov3'));
    assert.equal(reg.backbone('flat-mlp').countParams('flat-mlp', { imageSize: 16 }), 16 * 16 * 3 * 24 + 24);
    const ctx = {
      backboneName: 'flat-mlp',
      backboneOptions: { imageSize: 8 },
      seed: 1,
      buildBackbone: (n: string, o: object, s: number) => reg.backbone(n).build(n, o, s),
    };
    const fw = buildFramework(reg.frameworks.get('siamese-lite'), { name: 'siamese-lite' }, ctx);
    assert.equal(fw.trainableParams().length, 6); // fc, proj, pred: weight + bias each
    fw.dispose();
    assert.throws(
      () => buildFramework(reg.frameworks.get('siamese-lite'), { weight: 0 }, ctx),
      /framework\.weight: must be > 0 \(fields: outDim, weight\)/,
    );
    assert.throws(() => buildFramework(reg.frameworks.get('siamese-lite'), { tau: 0.2 }, ctx), /framework: unknown field 'tau'/);
    await assert.rejects(
      registryWithPlugins([path.join(dir, 'siamese.ts'), path.join(root, 'frameworks/mocov3.ts')], {}),
      /must default-export a plugin descriptor/,
    );
    fs.writeFileSync(path.join(dir, 'dup.ts'), `import { mocov3 } from ${src('frameworks/mocov3.ts')};\nexport default { ...mocov3 };\n`);
    await assert.rejects(
      registryWithPlugins([path.join(dir, 'dup.ts')], {}),
      /framework 'mocov3' is registered twice \(built in and plugin\)/,
    );
    await assert.rejects(registryWithPlugins([path.join(dir, 'missing.ts')], {}), /--plugin: '.*missing\.ts' does not exist/);
  });

  it('bench run trains the suite with them (--plugin), bench list shows them, and without the plugins the suite is refused', () => {
    const args = [
      'run',
      path.join(dir, 'suite.json'),
      '--results',
      path.join(dir, 'res'),
      '--runs',
      path.join(dir, 'runs'),
      '--backend',
      'wasm',
      '--quiet',
    ];
    const plugins = ['--plugin', path.join(dir, 'siamese.ts'), '--plugin', path.join(dir, 'flat-mlp.ts')];
    const r = bench({ SSLBENCH_PLUGINS: '' }, ...args, ...plugins);
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(fs.readFileSync(path.join(dir, 'res', 'plugin-smoke-smoke.json'), 'utf8'));
    const cell = out.cells[0];
    assert.equal(cell.config.framework.name, 'siamese-lite');
    assert.deepEqual(cell.config.framework, { name: 'siamese-lite', weight: 2, outDim: 8 }); // the plugin's smoke scaling; no MoCo field
    assert.equal(cell.config.backbone.name, 'flat-mlp');
    assert.ok(Number.isFinite(cell.final.loss) && cell.probe.top1 > 0, JSON.stringify(cell.final));
    // the same suite from a program: `runSuite` of the package's main export reuses the finished cell
    fs.writeFileSync(
      path.join(dir, 'run-api.mjs'),
      "import { runSuite } from 'sslbench';\n" +
        "const r = await runSuite('suite.json', { resultsDir: 'res-api', runsDir: 'runs', plugins: ['siamese.ts', 'flat-mlp.ts'], " +
        "backend: 'wasm' });\n" +
        'console.log(JSON.stringify({ rows: r.table.rows.length, files: r.files.map((f) => f.slice(f.lastIndexOf("/") + 1)) }));\n',
    );
    const api = spawnSync(process.execPath, ['--import', 'tsx', 'run-api.mjs'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, SSLBENCH_PLUGINS: '' },
    });
    assert.equal(api.status, 0, api.stderr);
    const apiOut = JSON.parse(api.stdout.trim().split('\n').pop()!);
    assert.ok(apiOut.files.includes('plugin-smoke-smoke.json'), api.stdout);
    const viaApi = JSON.parse(fs.readFileSync(path.join(dir, 'res-api', 'plugin-smoke-smoke.json'), 'utf8')).cells[0];
    assert.deepEqual(viaApi.final, cell.final, 'the finished cell, reused');
    const list = bench({ SSLBENCH_PLUGINS: path.join(dir, 'siamese.ts') }, 'list', 'frameworks');
    assert.equal(list.code, 0, list.err);
    assert.match(list.out, /frameworks: mocov3, simclr, byol, swav, siamese-lite/);
    const refused = bench({ SSLBENCH_PLUGINS: '' }, ...args);
    assert.notEqual(refused.code, 0);
    assert.match(refused.err, /unknown framework 'siamese-lite'; known frameworks: mocov3, simclr, byol, swav/);
  });
});

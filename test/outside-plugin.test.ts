/**
 * A user's own framework and backbone, written in files outside the source tree (as README's
 * "Adding a framework" shows) against sslbench as a package: `npm pack` makes the tarball a user
 * would install, it is unpacked into a project's node_modules, the plugin files import
 * `sslbench/plugin` by name, and that installed copy's `bench` (and `sslbench`'s `runSuite`) runs
 * them as smoke-preset suites: no file of sslbench is touched or reached by path. The framework
 * is a small SimSiam-like one (its module and its loss); the backbone a one-layer MLP family; the
 * evaluator a nearest-class-mean classifier (a column of the pre-training suite's table); the data
 * set a transfer target (reader and descriptor in one file) that the same cell is fine-tuned on,
 * from its files under --data-root and from its stand-in.
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
import { ConfigSchema, Linear, Module, Rng, Type, defineFramework, frameworkOf, tf } from 'sslbench/plugin';
import { negativeCosine } from './siamese-loss.ts';

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
    const target = (x) => proj.apply(backbone.apply(x, true));
    // its hooks only: parameters, checkpoint and disposal come from its modules
    return frameworkOf({
      name: 'siamese-lite',
      backbone,
      modules: { backbone, proj, pred },
      prepare: ({ global: [v1, v2] }) => tf.tidy(() => [target(v1), target(v2)]),
      loss({ global: [v1, v2] }, [z1, z2]) {
        const f1 = backbone.apply(v1, true);
        const p1 = pred.apply(proj.apply(f1));
        const p2 = pred.apply(proj.apply(backbone.apply(v2, true)));
        const loss = tf.mul(tf.add(negativeCosine(p1, z2), negativeCosine(p2, z1)), c.weight);
        return { loss, features: f1 };
      },
    });
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

/** An evaluator: nearest class mean of the frozen features (cosine), in one file. */
const EVALUATOR = `
import { ConfigSchema, Type, defineEvaluator, l2Normalize, tf } from 'sslbench/plugin';

export default defineEvaluator({
  name: 'nearest-mean',
  title: 'nearest class mean of frozen features (a plugin file)',
  schema: ConfigSchema({ normalise: Type.Boolean({ default: true }) }),
  column: { metric: 'top1', header: 'nearest class mean (%)', percent: true },
  async evaluate(input, c) {
    const norm = (f) => (c.normalise ? l2Normalize(f) : f);
    const train = norm(await input.features('train'));
    const test = norm(await input.features('test'));
    const C = input.train.numClasses;
    const onehot = tf.oneHot(tf.tensor1d(input.train.labels, 'int32'), C).toFloat();
    const means = tf.div(tf.matMul(onehot, train, true, false), tf.maximum(tf.sum(onehot, 0).reshape([C, 1]), 1));
    const pred = tf.argMax(tf.matMul(test, means, false, true), 1).dataSync();
    let right = 0;
    pred.forEach((p, i) => (right += p === input.test.labels[i] ? 1 : 0));
    tf.dispose([onehot, means, ...(c.normalise ? [train, test] : [])]);
    return { metrics: { top1: right / pred.length } };
  },
});
`;

/** A transfer data set: its reader (a JSON file per split) and its descriptor, in one file. */
const DATASET = `
import fs from 'node:fs';
import path from 'node:path';
import { checkImageSet, defineDataset, pathNeeded } from 'sslbench/plugin';

const LAYOUT = 'a glyphs folder: train.json and test.json, each { size, classes, images: [[grey 0-255, ...], ...], labels }';
function read(dir, split, limit) {
  const file = path.join(dir, split + '.json');
  if (!fs.existsSync(file)) throw new Error(file + ': missing; ' + LAYOUT);
  const j = JSON.parse(fs.readFileSync(file, 'utf8'));
  const count = Math.min(limit ?? j.labels.length, j.labels.length);
  const px = j.size * j.size;
  const images = new Float32Array(count * px);
  for (let i = 0; i < count; i++) for (let k = 0; k < px; k++) images[i * px + k] = j.images[i][k] / 255;
  return checkImageSet({
    name: 'glyphs-' + split, images, labels: Int32Array.from(j.labels.slice(0, count)), count,
    height: j.size, width: j.size, channels: 1, numClasses: j.classes,
  });
}

export default defineDataset({
  name: 'glyphs',
  title: 'three glyph classes on an 8 x 8 grid (a plugin file)',
  path: 'required',
  missingPath: pathNeeded('glyphs', LAYOUT),
  load(d) {
    if (!d.path) throw new Error(pathNeeded('glyphs', LAYOUT));
    return { train: read(d.path, 'train', d.trainCount), test: read(d.path, 'test', d.testCount) };
  },
  transfer: {
    folder: 'glyphs',
    layout: LAYOUT,
    splits: { train: 'train.json', test: 'test.json' },
    recipe: { weightDecay: 0.05, mixupAlpha: 0, cutmixAlpha: 0 },
    standin: { classes: 3, seed: 9, noise: 0.1 },
  },
});
`;

/** The glyph images: a bar, a cross and a frame on 8 x 8, with seeded noise. */
function glyphSplit(n: number, seed: number) {
  let s = seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const images: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = i % 3;
    const img: number[] = [];
    for (let r = 0; r < 8; r++)
      for (let c = 0; c < 8; c++) {
        const on = y === 0 ? r === 3 || r === 4 : y === 1 ? r === c || r === 7 - c : r === 0 || c === 0 || r === 7 || c === 7;
        img.push(Math.round(255 * Math.min(1, Math.max(0, (on ? 0.9 : 0.1) + 0.2 * (rand() - 0.5)))));
      }
    images.push(img);
    labels.push(y);
  }
  return { size: 8, classes: 3, images, labels };
}

const SUITE = {
  name: 'plugin-smoke',
  title: 'a plugin framework on a plugin backbone (smoke)',
  reference: 'README, Adding a framework',
  kind: 'pretrain',
  preset: 'smoke',
  evaluators: [{ name: 'nearest-mean' }],
  cells: [
    {
      id: 'siamese-lite',
      config: { framework: { name: 'siamese-lite', weight: 2 }, backbone: { name: 'flat-mlp' } },
      scaled: { smoke: { backbone: { name: 'flat-mlp' } } },
    },
  ],
};

/** Fine-tuning the same pre-trained cell on the plugin's transfer data set. */
const TRANSFER_SUITE = {
  name: 'plugin-transfer',
  title: 'the plugin pre-training fine-tuned on the plugin data set (smoke)',
  reference: 'README, Adding a data set',
  kind: 'transfer',
  preset: 'smoke',
  cells: [{ ...SUITE.cells[0], id: 'siamese-lite / glyphs', transfer: { dataset: 'glyphs' } }],
};

fs.writeFileSync(path.join(dir, 'siamese-loss.ts'), LOSS);
fs.writeFileSync(path.join(dir, 'siamese.ts'), FRAMEWORK);
fs.writeFileSync(path.join(dir, 'flat-mlp.ts'), BACKBONE);
fs.writeFileSync(path.join(dir, 'nearest-mean.ts'), EVALUATOR);
fs.writeFileSync(path.join(dir, 'glyphs.ts'), DATASET);
fs.writeFileSync(path.join(dir, 'suite.json'), JSON.stringify(SUITE));
fs.writeFileSync(path.join(dir, 'transfer-suite.json'), JSON.stringify(TRANSFER_SUITE));
fs.mkdirSync(path.join(dir, 'data-root', 'glyphs'), { recursive: true });
fs.writeFileSync(path.join(dir, 'data-root', 'glyphs', 'train.json'), JSON.stringify(glyphSplit(48, 1)));
fs.writeFileSync(path.join(dir, 'data-root', 'glyphs', 'test.json'), JSON.stringify(glyphSplit(24, 2)));
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

describe('a framework, a backbone, an evaluator and a transfer data set from plugin files outside the source tree', () => {
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
    const plugins = ['siamese.ts', 'flat-mlp.ts', 'nearest-mean.ts', 'glyphs.ts'].flatMap((f) => ['--plugin', path.join(dir, f)]);
    const r = bench({ SSLBENCH_PLUGINS: '' }, ...args, ...plugins);
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(fs.readFileSync(path.join(dir, 'res', 'plugin-smoke-smoke.json'), 'utf8'));
    const cell = out.cells[0];
    assert.equal(cell.config.framework.name, 'siamese-lite');
    assert.deepEqual(cell.config.framework, { name: 'siamese-lite', weight: 2, outDim: 8 }); // the plugin's smoke scaling; no MoCo field
    assert.equal(cell.config.backbone.name, 'flat-mlp');
    assert.ok(Number.isFinite(cell.final.loss) && cell.probe.top1 > 0, JSON.stringify(cell.final));
    // the plugin evaluator ran on the cell's weights and is a column of the table
    const nm = cell.evaluations['nearest-mean'];
    assert.ok(nm.metrics.top1 > 0 && nm.metrics.top1 <= 1, JSON.stringify(nm));
    const md = fs.readFileSync(path.join(dir, 'res', 'plugin-smoke-smoke.md'), 'utf8');
    assert.match(md, /nearest class mean \(%\) \[nearest-mean\]/);
    assert.ok(md.includes((100 * nm.metrics.top1).toFixed(1)), md);
    // the plugin data set as a transfer target: fine-tuning the same pre-trained cell (reused) on its files under --data-root
    const t = bench(
      { SSLBENCH_PLUGINS: '' },
      'run',
      path.join(dir, 'transfer-suite.json'),
      '--data-root',
      path.join(dir, 'data-root'),
      ...args.slice(2),
      ...plugins,
    );
    assert.equal(t.code, 0, t.err);
    const tcell = JSON.parse(fs.readFileSync(path.join(dir, 'res', 'plugin-transfer-smoke.json'), 'utf8')).cells[0];
    assert.equal(tcell.status, 'measured', JSON.stringify(tcell));
    assert.equal(tcell.detail.source, path.join(dir, 'data-root', 'glyphs'));
    assert.deepEqual([tcell.detail.trainImages, tcell.detail.testImages, tcell.detail.classes], [48, 24, 3]);
    assert.equal(tcell.detail.config.weightDecay, 0.05, "the descriptor's recipe field");
    assert.equal(tcell.detail.config.dataset, 'glyphs');
    // without --data-root the small preset fine-tunes on the descriptor's stand-in
    const standin = bench({ SSLBENCH_PLUGINS: '' }, 'run', path.join(dir, 'transfer-suite.json'), ...args.slice(2), ...plugins);
    assert.equal(standin.code, 0, standin.err);
    const scell = JSON.parse(fs.readFileSync(path.join(dir, 'res', 'plugin-transfer-smoke.json'), 'utf8')).cells[0];
    assert.equal(scell.detail.source, 'synthetic stand-in');
    assert.equal(scell.detail.classes, 3);
    // the same suite from a program: `runSuite` of the package's main export reuses the finished cell
    fs.writeFileSync(
      path.join(dir, 'run-api.mjs'),
      "import { runSuite } from 'sslbench';\n" +
        "const r = await runSuite('suite.json', { resultsDir: 'res-api', runsDir: 'runs', plugins: ['siamese.ts', 'flat-mlp.ts', " +
        "'nearest-mean.ts', 'glyphs.ts'], " +
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
    assert.deepEqual(viaApi.evaluations, cell.evaluations, 'the cached evaluation, reused');
    const list = bench({ SSLBENCH_PLUGINS: path.join(dir, 'siamese.ts') }, 'list', 'frameworks');
    assert.equal(list.code, 0, list.err);
    assert.match(list.out, /frameworks: mocov3, simclr, byol, swav, siamese-lite/);
    const lists = bench(
      { SSLBENCH_PLUGINS: [path.join(dir, 'glyphs.ts'), path.join(dir, 'nearest-mean.ts')].join(path.delimiter) },
      'list',
    );
    assert.match(lists.out, /datasets: .*pets, glyphs\n/);
    assert.match(lists.out, /transfer targets .*pets \(oxford-iiit-pet\/\), glyphs \(glyphs\/\)/);
    assert.match(lists.out, /evaluators: knn, linear-probe, nearest-mean\n/);
    const refused = bench({ SSLBENCH_PLUGINS: '' }, ...args);
    assert.notEqual(refused.code, 0);
    assert.match(refused.err, /unknown framework 'siamese-lite'; known frameworks: mocov3, simclr, byol, swav/);
  });
});

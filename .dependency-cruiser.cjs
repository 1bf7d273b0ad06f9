/**
 * The architecture of sslbench as dependency-cruiser rules (`npm run lint:deps`, part of `npm test`).
 *
 * The source folders form layers, lowest first. A folder may import its own files, the folders of
 * the layers below it and node_modules; never a folder of its own layer or of a layer above. So
 * the folder graph has no cycle, and a lower layer never knows the code built on it. test/ is not
 * checked: tests import from any folder.
 */

/** The layers, lowest first: the folders of each, and what they are for. */
const LAYERS = [
  // config types, the checkpoint contract, the result and instability models, atomic writes, the
  // progress bar, plugin descriptors: the vocabulary every other folder shares
  { folders: ['core'], purpose: 'shared types and small utilities' },
  // the only code that knows tfjs: backends, parameters and init, layers, ops with hand-written
  // gradients, native kernels, safetensors, the multiply-add counter
  { folders: ['engine'], purpose: 'tensors and layers' },
  // the MoCo v3 augmentation; the ViT and ResNet families; data sets, decoding, the batch loader
  { folders: ['augment', 'backbones', 'data'], purpose: 'augmentation, backbones, data' },
  // the streaming pre-training input: files decoded and cropped on worker threads (data + augment)
  { folders: ['input'], purpose: 'streaming input pipeline' },
  // self-supervised frameworks with their heads and losses; optimisers and lr schedules
  { folders: ['frameworks', 'optim'], purpose: 'frameworks and optimisers' },
  // kNN, the kNN monitor, the linear probe, fine-tuning, gradient monitor, instability detectors
  { folders: ['evaluators'], purpose: 'evaluation' },
  // the paper's recipes and the presets that scale them
  { folders: ['recipes'], purpose: 'recipes and presets' },
  // suites as validated JSON data, the paper's values
  { folders: ['suites'], purpose: 'suite definitions' },
  // the composition root: every interchangeable part bound by name (inversify)
  { folders: ['container'], purpose: 'composition root' },
  // every table and figure writer: suite tables and pages from stored results, `bench report`
  { folders: ['report'], purpose: 'tables, figures, pages' },
  // the paper's claims scored against stored results: reads what report reads, never runs anything
  { folders: ['claims'], purpose: 'claims scorecard' },
  // runs suites: cell resolution, the pre-training loop, checkpoints, probes; writes through report
  { folders: ['runner'], purpose: 'running suites' },
  // scale-out over Redis (BullMQ): enqueue a suite's cells, the worker, the per-cell process
  { folders: ['queue'], purpose: 'queue' },
  // suite kinds: one descriptor per kind (checks, flags, plan, run, re-render, queue hook); nothing else asks a suite's kind
  { folders: ['kinds'], purpose: 'suite kinds' },
  // the public API: `sslbench` (suites run from a program) and `sslbench/plugin` (what a plugin imports)
  { folders: ['api'], purpose: 'public API' },
  // benchmarks that print figures and assert nothing
  { folders: ['bench'], purpose: 'benchmarks' },
  // the `bench` command
  { folders: ['cli'], purpose: 'command line' },
];

/** Folders that are not layers: no layer imports them. */
const NOT_IMPORTED = ['test', 'bin', 'native'];

const ALL = [...LAYERS.flatMap((l) => l.folders), ...NOT_IMPORTED];
const anyOf = (folders) => `^(${folders.join('|')})/`;

/** One rule per layer: "<folders> may only import <the layers below>". */
const layerRules = LAYERS.map((layer, i) => {
  const below = LAYERS.slice(0, i).flatMap((l) => l.folders);
  const who = layer.folders.join(', ');
  return {
    name: `layer-${layer.folders.join('-')}`,
    comment:
      `${who} (${layer.purpose}) may only import ` +
      (below.length ? `${below.join(', ')} (and node_modules)` : 'node_modules') +
      (layer.folders.length > 1 ? `; ${who} do not import each other` : ''),
    severity: 'error',
    from: { path: anyOf(layer.folders) },
    // any project folder but the file's own folder and the layers below
    to: { path: anyOf(ALL), pathNot: ['^$1/', ...(below.length ? [anyOf(below)] : [])] },
  };
});

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-circular',
      comment: 'no import cycle between files, type-only imports included',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-orphans',
      comment: 'every source file is imported or imports something: dead files are removed',
      severity: 'error',
      from: { orphan: true, pathNot: ['(^|/)\\.[^/]+\\.(js|cjs|mjs|ts|json)$', '\\.d\\.ts$', '(^|/)tsconfig\\.json$'] },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // type-only imports are dependencies of the architecture too
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};

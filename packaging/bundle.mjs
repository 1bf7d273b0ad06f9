#!/usr/bin/env node
// The offline bundle: one self-contained folder that runs `bench` on a machine with only Node.js
// 20+ (no npm, no registry, no node_modules), for clusters without registry access.
//
//   npm run bundle -- --out DIR      (default: dist/sslbench-<version>-<platform>-<arch>)
//
// What it holds (this platform's binaries only):
//   bench.mjs, run-cell.mjs,  the CLI, the queue worker's child and the image-decode worker,
//   crop-worker.mjs           bundled with esbuild
//   suites/, claims/          the suite and claim files sslbench reads at run time
//   native/                   the native kernels' C sources and build script (`node native/build.mjs`
//                             on the target: needs a C compiler and OpenBLAS; without it the engine
//                             runs on the stock wasm kernels)
//   node_modules/             only what cannot be bundled: the tfjs wasm binaries, Dawn's node
//                             binding (webgpu) for this platform, sharp with its libvips, piscina
//   package.json              names the folder as sslbench's installation (core/install-root.ts)
// Prints the folder's size; fails if it is over 60 MiB.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const platform = `${process.platform}-${process.arch}`;
const outFlag = process.argv.indexOf('--out');
const out = path.resolve(outFlag > 0 ? process.argv[outFlag + 1] : path.join(root, 'dist', `sslbench-${pkg.version}-${platform}`));
const LIMIT = 60 * 2 ** 20;

// packages kept as files: native binaries found beside their JavaScript, and the optional tfjs-node
// (and piscina, which starts its worker threads from its own files)
const EXTERNAL = ['webgpu', 'sharp', 'piscina', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'];

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: EXTERNAL,
  logLevel: 'warning',
  legalComments: 'none',
  // tfjs registers its backends and kernels by side effect; its packages' sideEffects lists would let a bundler drop them
  ignoreAnnotations: true,
  // CommonJS dependencies call require(); an ES module bundle has none of its own
  // and the wasm backend's Emscripten loader reads __dirname
  banner: {
    js:
      "import { createRequire as __sslbenchRequire } from 'node:module'; import { fileURLToPath as __sslbenchPath } from 'node:url'; " +
      'const require = __sslbenchRequire(import.meta.url); const __filename = __sslbenchPath(import.meta.url); ' +
      "const __dirname = __sslbenchPath(new URL('.', import.meta.url));",
  },
};
// the entry points (the CLI, the queue worker's child, the image-decode worker) share their code in chunks/
await build({
  ...common,
  entryPoints: {
    bench: path.join(root, 'cli/main.ts'),
    'run-cell': path.join(root, 'queue/run-cell.ts'),
    'crop-worker': path.join(root, 'input/crop-worker.ts'),
  },
  outdir: out,
  outExtension: { '.js': '.mjs' },
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
});
fs.writeFileSync(path.join(out, 'bench.mjs'), `#!/usr/bin/env node\n${fs.readFileSync(path.join(out, 'bench.mjs'), 'utf8')}`);
fs.chmodSync(path.join(out, 'bench.mjs'), 0o755);

const copy = (from, to = from) => fs.cpSync(path.join(root, from), path.join(out, to), { recursive: true, dereference: true });
/** A package's folder, as Node would find it from sslbench's root (its `exports` may hide package.json from require.resolve). */
const pkgDir = (name) => {
  for (const dir of require.resolve.paths(name) ?? []) {
    if (fs.existsSync(path.join(dir, name, 'package.json'))) return path.join(dir, name);
  }
  throw new Error(`${name}: not installed (npm ci)`);
};
const copyPkg = (name, parts) => {
  const dir = pkgDir(name);
  const dest = path.join(out, 'node_modules', name);
  for (const p of parts) {
    if (fs.existsSync(path.join(dir, p))) fs.cpSync(path.join(dir, p), path.join(dest, p), { recursive: true, dereference: true });
  }
};

for (const f of fs.readdirSync(path.join(root, 'suites'))) if (f.endsWith('.json')) copy(path.join('suites', f));
copy('claims/claims.json');
for (const f of fs.readdirSync(path.join(root, 'native'))) if (/\.(c|h|mjs)$/.test(f)) copy(path.join('native', f));

// tfjs: package.json for the versions the engine reports; the wasm backend's binaries
for (const name of ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs']) {
  copyPkg(name, ['package.json']);
}
const wasmDir = path.join(pkgDir('@tensorflow/tfjs-backend-wasm'), 'dist');
copyPkg('@tensorflow/tfjs-backend-wasm', [
  'package.json',
  ...fs
    .readdirSync(wasmDir)
    .filter((f) => f.endsWith('.wasm'))
    .map((f) => `dist/${f}`),
]);

// Dawn: its loader, its own dependencies, and this platform's dawn.node
const dawnArch = process.platform === 'darwin' ? 'darwin-universal' : platform;
copyPkg('webgpu', ['package.json', 'index.js', 'LICENSE.md', 'node_modules', `dist/${dawnArch}`]);

// sharp and the packages it loads (its libvips build for this platform); piscina (and its optional native helper)
const withDependencies = (name, seen = new Set()) => {
  if (seen.has(name)) return seen;
  let dir;
  try {
    dir = pkgDir(name);
  } catch {
    return seen; // an optional dependency for another platform: npm did not install it here
  }
  seen.add(name);
  const p = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  for (const d of [...Object.keys(p.dependencies ?? {}), ...Object.keys(p.optionalDependencies ?? {})]) withDependencies(d, seen);
  return seen;
};
for (const name of [...withDependencies('sharp'), ...withDependencies('piscina')])
  fs.cpSync(pkgDir(name), path.join(out, 'node_modules', name), { recursive: true, dereference: true });

fs.writeFileSync(
  path.join(out, 'package.json'),
  `${JSON.stringify({ name: 'sslbench', version: pkg.version, type: 'module', private: true, bin: { bench: 'bench.mjs' }, bundle: { platform, builtAt: new Date().toISOString() } }, null, 2)}\n`,
);
fs.writeFileSync(
  path.join(out, 'README.txt'),
  `sslbench ${pkg.version}, offline bundle for ${platform} (Node.js 20 or later; nothing to install).\n\n` +
    '  node bench.mjs env                 what the engine finds here\n' +
    '  node bench.mjs run smoke           the CI-sized run\n' +
    '  node native/build.mjs              optional: the native CPU kernels (a C compiler and OpenBLAS: libopenblas-dev)\n' +
    '  --backend webgpu                   needs a Vulkan driver (a GPU vendor driver, or Mesa lavapipe)\n',
);

const size = (p) => {
  const s = fs.lstatSync(p);
  return s.isDirectory() ? fs.readdirSync(p).reduce((a, f) => a + size(path.join(p, f)), 0) : s.size;
};
const bytes = size(out);
console.log(`sslbench: bundle in ${path.relative(process.cwd(), out) || '.'}: ${(bytes / 2 ** 20).toFixed(1)} MiB (limit 60 MiB)`);
if (bytes > LIMIT) {
  console.error(`sslbench: the bundle is ${(bytes / 2 ** 20).toFixed(1)} MiB, over the 60 MiB limit`);
  process.exit(1);
}

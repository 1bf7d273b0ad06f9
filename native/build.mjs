#!/usr/bin/env node
// Builds native/sslbench_native.node (CBLAS GEMM for the engine) with the system C compiler.
// Needs a C compiler and OpenBLAS (Debian: apt-get install libopenblas-dev). Without them it says
// so and exits 0 with --optional (npm install), so that sslbench still installs and runs on wasm.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const optional = process.argv.includes('--optional');
const out = path.join(here, 'sslbench_native.node');
const candidates = [path.resolve(path.dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node'];
const include = candidates.find((d) => fs.existsSync(path.join(d, 'node_api.h')));
const cc = process.env.CC ?? 'cc';
// OpenBLAS's OpenMP build shares one thread pool with the OpenMP loops of the element-wise kernels
// (Debian: libopenblas0-openmp); the default pthread build keeps a second pool that competes with it.
const ompBlas = ['/usr/lib/x86_64-linux-gnu/openblas-openmp', '/usr/lib64/openblas-openmp'].find((d) =>
  fs.existsSync(path.join(d, 'libopenblas.so.0')),
);
// oneDNN (Debian: libdnnl-dev) adds the oneDNN matmul route and bf16 GEMMs; without it the addon builds without them.
const dnnlHeader = ['/usr/include/oneapi/dnnl/dnnl.h', '/usr/local/include/oneapi/dnnl/dnnl.h'].find((f) => fs.existsSync(f));
const dnnl = dnnlHeader && process.env.SSLBENCH_ONEDNN !== '0' ? ['-DSSL_HAVE_DNNL', '-ldnnl'] : [];
const blas = ompBlas ? [`-L${ompBlas}`, '-l:libopenblas.so.0', `-Wl,-rpath,${ompBlas}`] : ['-lopenblas'];
try {
  if (!include) throw new Error(`node_api.h not found in ${candidates.join(', ')}`);
  const tmp = `${out}.tmp-${process.pid}`;
  execFileSync(
    cc,
    [
      '-O3',
      '-march=native',
      '-fno-math-errno',
      '-fno-trapping-math',
      '-std=c11',
      '-fPIC',
      '-shared',
      '-fopenmp',
      `-I${include}`,
      path.join(here, 'addon.c'),
      path.join(here, 'threads.c'),
      path.join(here, 'gelu.c'),
      path.join(here, 'layernorm.c'),
      path.join(here, 'softmax.c'),
      path.join(here, 'adamw.c'),
      path.join(here, 'epilogue.c'),
      path.join(here, 'conv.c'),
      path.join(here, 'gemm.c'),
      path.join(here, 'linear.c'),
      path.join(here, 'attention_small.c'),
      path.join(here, 'augment.c'),
      path.join(here, 'dnnl_matmul.c'),
      path.join(here, 'bf16.c'),
      path.join(here, 'attention_bf16.c'),
      path.join(here, 'prenorm_attention.c'),
      '-o',
      tmp,
      ...blas,
      ...dnnl,
      '-lm',
    ],
    { stdio: ['ignore', 'inherit', 'pipe'] },
  );
  fs.renameSync(tmp, out);
  console.log(
    `sslbench: built ${path.relative(process.cwd(), out)} (native GEMM through OpenBLAS, ${ompBlas ? 'OpenMP' : 'pthread'} build; ` +
      `${dnnl.length ? `oneDNN from ${path.dirname(path.dirname(path.dirname(dnnlHeader)))}` : 'no oneDNN: apt-get install libdnnl-dev for its route and bf16'})`,
  );
} catch (err) {
  const why = (err.stderr?.toString() || err.message).trim().split('\n').slice(-3).join(' | ');
  const msg =
    `sslbench: native GEMM not built (${why}). The engine runs on stock tfjs kernels; to build it: apt-get install ` +
    `libopenblas-dev && npm run build:native`;
  if (!optional) {
    console.error(msg);
    process.exit(1);
  }
  console.warn(msg);
}

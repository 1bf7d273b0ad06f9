/**
 * The optional native addon (native/sslbench_native.node: GEMM through OpenBLAS or oneDNN, fused
 * linear layers and element-wise kernels). Loaded
 * once; `nativeAddon()` is undefined when it is not built, with the reason in `nativeStatus()`.
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { installRoot, isBundle } from '../../core/install-root.ts';

export interface NativeAddon {
  gemm(
    a: Float32Array,
    aOff: number,
    aStride: number,
    b: Float32Array,
    bOff: number,
    bStride: number,
    c: Float32Array,
    cOff: number,
    cStride: number,
    batch: number,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    beta: number,
    /** native/gemm.h: 0 OpenBLAS, 1 oneDNN fp32, 2 oneDNN with bf16 inputs (engine/kernels/gemm-route.ts). */
    route: number,
  ): void;
  /**
   * h = x W (+ bias) (+ res), or with act 1: h = x W + bias, y = GELU(h); native/linear.h. Route 2
   * (bf16) also writes bf16(x) into xb (ceil(rows in / 2) floats holding the halves).
   */
  linearFwd(
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    res: Float32Array | null,
    h: Float32Array,
    y: Float32Array | null,
    xb: Float32Array | null,
    rows: number,
    inF: number,
    outF: number,
    act: number,
    route: number,
  ): void;
  /** dx = g W^T, dw = x^T g, db = column sums of g; g = dy, or dy GELU'(h) with act 1. In bf16 (routes 2), x is the forward's xb. */
  linearBwd(
    dy: Float32Array,
    x: Float32Array,
    w: Float32Array,
    h: Float32Array | null,
    dx: Float32Array | null,
    dw: Float32Array | null,
    db: Float32Array | null,
    rows: number,
    inF: number,
    outF: number,
    act: number,
    routeDx: number,
    routeDw: number,
  ): void;
  /**
   * The MLP branch in bf16 (native/linear.h; oneDNN): out = x + fc2(GELU(fc1(LN(x)))), with the
   * LayerNorm and GELU written straight to bf16 (xb, yb: halves).
   */
  normMlpFwd(
    x: Float32Array,
    g: Float32Array,
    beta: Float32Array,
    w1: Float32Array,
    b1: Float32Array | null,
    w2: Float32Array,
    b2: Float32Array | null,
    mean: Float32Array,
    rstd: Float32Array,
    xb: Float32Array,
    h: Float32Array,
    yb: Float32Array,
    out: Float32Array,
    rows: number,
    d: number,
    hid: number,
    eps: number,
  ): void;
  normMlpBwd(
    dout: Float32Array,
    x: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    g: Float32Array,
    xb: Float32Array,
    w1: Float32Array,
    b1: Float32Array | null,
    h: Float32Array,
    yb: Float32Array,
    w2: Float32Array,
    dx: Float32Array,
    dg: Float32Array,
    dbeta: Float32Array,
    dw1: Float32Array,
    db1: Float32Array | null,
    dw2: Float32Array,
    db2: Float32Array | null,
    rows: number,
    d: number,
    hid: number,
  ): void;
  /** x + proj(attention(qkv(LN(x)))) at bf16, x [B, T, D] (native/prenorm_attention.h); xb, qkvb, ob hold bf16 halves. */
  normAttentionFwd(
    x: Float32Array,
    g: Float32Array,
    beta: Float32Array,
    wq: Float32Array,
    bq: Float32Array | null,
    wp: Float32Array,
    bp: Float32Array | null,
    mean: Float32Array,
    rstd: Float32Array,
    xb: Float32Array,
    qkvb: Float32Array,
    p: Float32Array,
    ob: Float32Array,
    out: Float32Array,
    batch: number,
    tokens: number,
    d: number,
    heads: number,
    eps: number,
  ): void;
  normAttentionBwd(
    dout: Float32Array,
    x: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    g: Float32Array,
    xb: Float32Array,
    wq: Float32Array,
    qkvb: Float32Array,
    p: Float32Array,
    ob: Float32Array,
    wp: Float32Array,
    dx: Float32Array,
    dg: Float32Array,
    dbeta: Float32Array,
    dwq: Float32Array,
    dbq: Float32Array | null,
    dwp: Float32Array,
    dbp: Float32Array | null,
    batch: number,
    tokens: number,
    d: number,
    heads: number,
  ): void;
  /** y = x rounded to bf16 (nearest even), widened back to fp32. */
  roundBf16(x: Float32Array, y: Float32Array, n: number): void;
  /** oneDNN's version ('oneDNN 2.6.3') when the addon has it and its CPU engine starts, else null. */
  onednn(): string | null;
  /** oneDNN's version, or why it is absent. */
  onednnStatus(): string;
  /**
   * One augmented view of a batch (native/augment.h): images [B, H, W, 3], maps [6, B * S] (row and
   * column source indices and weights), params [B, 13], taps [B, K]; out [B, S, S, 3].
   */
  augmentView(
    images: Float32Array,
    B: number,
    H: number,
    W: number,
    maps: Float32Array,
    params: Float32Array,
    taps: Float32Array,
    K: number,
    S: number,
    threshold: number,
    mean: Float32Array,
    std: Float32Array,
    out: Float32Array,
  ): void;
  geluFwd(x: Float32Array, y: Float32Array, n: number): void;
  geluBwd(dy: Float32Array, x: Float32Array, dx: Float32Array, n: number): void;
  layerNormFwd(
    x: Float32Array,
    g: Float32Array | null,
    b: Float32Array | null,
    y: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    rows: number,
    d: number,
    eps: number,
  ): void;
  layerNormBwd(
    dy: Float32Array,
    x: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    g: Float32Array | null,
    dx: Float32Array,
    dg: Float32Array | null,
    db: Float32Array | null,
    rows: number,
    d: number,
  ): void;
  softmaxFwd(x: Float32Array, y: Float32Array, rows: number, d: number): void;
  softmaxBwd(dy: Float32Array, y: Float32Array, dx: Float32Array, rows: number, d: number): void;
  sumRows(x: Float32Array, out: Float32Array, rows: number, n: number): void;
  adamw(
    p: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    pOut: Float32Array,
    mOut: Float32Array,
    vOut: Float32Array,
    n: number,
    lr: number,
    b1: number,
    b2: number,
    eps: number,
    wd: number,
    bc1: number,
    bc2sqrt: number,
  ): void;
  /**
   * q, k, v (and dq, dk, dv) rows are `ld` apart: D for separate tensors, 3D for views into one qkv tensor.
   * bf16: the products on bf16 inputs with fp32 accumulation (oneDNN; softmax in fp32), else fp32.
   */
  attentionFwd(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    out: Float32Array,
    p: Float32Array,
    b: number,
    t: number,
    d: number,
    heads: number,
    ld: number,
    bf16: boolean,
  ): void;
  attentionBwd(
    dout: Float32Array,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    p: Float32Array,
    dq: Float32Array,
    dk: Float32Array,
    dv: Float32Array,
    b: number,
    t: number,
    d: number,
    heads: number,
    ld: number,
    bf16: boolean,
  ): void;
  /** NHWC convolution; geom = [B, H, W, C, OH, OW, OC, KH, KW, SH, SW, DH, DW, PT, PL], route as gemm() (native/conv.c). */
  convFwd(x: Float32Array, w: Float32Array, y: Float32Array, geom: number[], route: number): void;
  convBwdInput(dy: Float32Array, w: Float32Array, dx: Float32Array, geom: number[], route: number): void;
  convBwdFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, geom: number[], route: number): void;
  setThreads(n: number): void;
  threads(): number;
  config(): string;
}

export const NATIVE_PATH = path.join(installRoot(), 'native', 'sslbench_native.node');

let loaded: { addon?: NativeAddon; status: string } | undefined;

function load(): { addon?: NativeAddon; status: string } {
  if (loaded) return loaded;
  loaded = probeAddon();
  return loaded;
}

function probeAddon(): { addon?: NativeAddon; status: string } {
  if (process.env.SSLBENCH_NATIVE === '0') return { status: 'disabled by SSLBENCH_NATIVE=0' };
  if (!fs.existsSync(NATIVE_PATH)) {
    return {
      status:
        `not built (${path.relative(process.cwd(), NATIVE_PATH)} missing): apt-get install libopenblas-dev && ` +
        (isBundle()
          ? `node ${path.join(path.relative(process.cwd(), installRoot()) || '.', 'native', 'build.mjs')}`
          : 'npm run build:native'),
    };
  }
  try {
    // OpenMP threads that spin between parallel regions (libgomp's default) steal the cores from
    // V8's and the GEMM's own work on small machines: halves training throughput on 2 cores.
    // libgomp reads this when the addon loads it; a value the user set wins.
    process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
    const addon = createRequire(import.meta.url)(NATIVE_PATH) as NativeAddon;
    return { addon, status: `loaded: ${addon.config().trim()}` };
  } catch (err) {
    return { status: `failed to load ${NATIVE_PATH}: ${(err as Error).message}` };
  }
}

export function nativeAddon(): NativeAddon | undefined {
  return load().addon;
}

export function nativeStatus(): string {
  return load().status;
}

/**
 * A linear layer's op: x [rows, in] W [in, out] + bias, then optionally GELU (fc1 of a ViT MLP) or
 * a residual add (proj, fc2: the block's skip connection), with a hand-written gradient.
 *
 * On the native kernels (engine/kernels/native-linear.ts) the GEMM and its epilogue run as one
 * kernel forward and one backward, at the engine's current precision (fp32, or bf16 products under
 * `--precision bf16`): the precision is read when the op runs forward and kept for its backward.
 * Elsewhere the op composes the stock ops (fused matmul + bias, then GELU or add), fp32.
 */
import { tf } from '../tf.ts';
import { recordMacs } from '../flops.ts';
import { customOp } from './custom-op.ts';
import { nativeOpsActive } from '../backend.ts';
import { runNative } from '../kernels/native-ops.ts';
import { ACT } from '../kernels/native-linear.ts';
import { precision } from '../kernels/gemm-route.ts';
import { affine2d } from './matmul.ts';
import { gelu } from './gelu.ts';

export type LinearActivation = 'none' | 'gelu';

export interface LinearEpilogue {
  /** Applied after the bias (default 'none'). */
  act?: LinearActivation;
  /** Added after the bias, [rows, out] (not with GELU). */
  residual?: tf.Tensor2D;
}

type Op = (...inputs: tf.Tensor[]) => tf.Tensor2D;
const ops = new Map<string, Op>();

/** The custom op for one combination of bias / residual / activation (their inputs differ). */
function nativeOp(hasBias: boolean, hasRes: boolean, act: LinearActivation): Op {
  const key = `${hasBias}|${hasRes}|${act}`;
  let op = ops.get(key);
  if (op) return op;
  const actCode = ACT[act];
  op = customOp<tf.Tensor2D>((inputs, save) => {
    const [x, w] = inputs;
    const bias = hasBias ? inputs[2] : undefined;
    const res = hasRes ? inputs[hasBias ? 3 : 2] : undefined;
    const p = precision();
    const named: Record<string, tf.Tensor> = { x, w };
    if (bias) named.bias = bias;
    if (res) named.res = res;
    const out = runNative('SslLinearFwd', named, { act: actCode, precision: p }) as tf.Tensor[];
    const gelu = actCode === ACT.gelu;
    const value = (gelu ? out[1] : out[0]) as tf.Tensor2D;
    // in bf16 the backward reads the forward's bf16 copy of x (out's last), not x
    const xSaved = p === 'bf16' ? out[out.length - 1] : x;
    save(gelu ? [xSaved, w, out[0]] : [xSaved, w]);
    return {
      value,
      gradFunc: (dy, saved) => {
        const [sx, sw, h] = saved;
        const bwdIn: Record<string, tf.Tensor> = { dy, x: sx, w: sw };
        if (h) bwdIn.h = h;
        const grads = runNative('SslLinearBwd', bwdIn, { act: actCode, precision: p, bias: hasBias }) as tf.Tensor[];
        return hasRes ? [...grads, dy] : grads;
      },
    };
  });
  ops.set(key, op);
  return op;
}

/** act(x W + bias) + residual, x [rows, in], W [in, out]. */
export function linear2d(x: tf.Tensor2D, w: tf.Tensor2D, bias?: tf.Tensor1D, epi: LinearEpilogue = {}): tf.Tensor2D {
  const act = epi.act ?? 'none';
  if (act === 'gelu' && epi.residual) throw new Error('linear2d: GELU and a residual add do not combine');
  if (!nativeOpsActive()) {
    const y = affine2d(x, w, bias);
    if (act === 'gelu') return gelu(y) as tf.Tensor2D;
    return epi.residual ? (tf.add(epi.residual, y) as tf.Tensor2D) : y;
  }
  recordMacs(x.shape[0] * x.shape[1] * w.shape[1]);
  const inputs: tf.Tensor[] = [x, w];
  if (bias) inputs.push(bias);
  if (epi.residual) inputs.push(epi.residual);
  return nativeOp(bias !== undefined, epi.residual !== undefined, act)(...inputs);
}

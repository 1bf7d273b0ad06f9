/** Exact (erf) GELU, as PyTorch's nn.GELU(), with a closed-form gradient; fused natively when available. */
import { tf } from '../tf.ts';
import { customOp } from './custom-op.ts';
import { nativeOpsActive } from '../backend.ts';
import { runNative } from '../kernels/native-ops.ts';

const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

const geluStock: (x: tf.Tensor) => tf.Tensor = customOp(([x], save) => {
  save([x]);
  return {
    value: tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, INV_SQRT2))))),
    gradFunc: (dy, saved) => {
      const [sx] = saved;
      // d/dx x*Phi(x) = Phi(x) + x*phi(x)
      const cdf = tf.mul(0.5, tf.add(1, tf.erf(tf.mul(sx, INV_SQRT2))));
      const pdf = tf.mul(INV_SQRT_2PI, tf.exp(tf.mul(tf.square(sx), -0.5)));
      return [tf.mul(dy, tf.add(cdf, tf.mul(sx, pdf)))];
    },
  };
});

const geluNative: (x: tf.Tensor) => tf.Tensor = customOp(([x], save) => {
  save([x]);
  return {
    value: runNative('SslGeluFwd', { x }) as tf.Tensor,
    gradFunc: (dy, [sx]) => [runNative('SslGeluBwd', { dy, x: sx }) as tf.Tensor],
  };
});

export function gelu(x: tf.Tensor): tf.Tensor {
  return nativeOpsActive() ? geluNative(x) : geluStock(x);
}

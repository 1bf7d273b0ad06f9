/** Exact (erf) GELU, as PyTorch's nn.GELU(), with a closed-form gradient. */
import { tf } from '../tf.ts';
import { customOp } from './custom-op.ts';

const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export const gelu: (x: tf.Tensor) => tf.Tensor = customOp(([x], save) => {
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

/** Softmax over the last axis; fused native forward and backward when available. */
import { tf } from '../tf.ts';
import { customOp } from './custom-op.ts';
import { nativeOpsActive } from '../backend.ts';
import { runNative } from '../kernels/native-ops.ts';

const softmaxNative: (x: tf.Tensor) => tf.Tensor = customOp(([x], save) => {
  const y = runNative('SslSoftmaxFwd', { x }) as tf.Tensor;
  save([y]);
  return { value: y, gradFunc: (dy, [sy]) => [runNative('SslSoftmaxBwd', { dy, y: sy }) as tf.Tensor] };
});

export function softmax(x: tf.Tensor): tf.Tensor {
  return nativeOpsActive() ? softmaxNative(x) : tf.softmax(x);
}

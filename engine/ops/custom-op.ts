/** A typed wrapper over tf.customGrad: an op with a hand-written gradient. */
import { tf } from '../tf.ts';

type Save = (tensors: tf.Tensor[]) => void;

export interface CustomOpBody<T extends tf.Tensor> {
  value: T;
  /** Gradient of each input given dy and the tensors passed to `save`. */
  gradFunc: (dy: T, saved: tf.Tensor[]) => tf.Tensor[];
}

export function customOp<T extends tf.Tensor>(f: (inputs: tf.Tensor[], save: Save) => CustomOpBody<T>): (...inputs: tf.Tensor[]) => T {
  const body = (...args: unknown[]) => {
    const save = args.pop() as Save;
    return f(args as tf.Tensor[], save);
  };
  return tf.customGrad(body as never) as (...inputs: tf.Tensor[]) => T;
}

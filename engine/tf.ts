/**
 * The single import point for TensorFlow.js in sslbench. Models, data and frameworks import `tf`
 * from here, never from a backend package: which backend actually runs is decided in
 * `engine/backend.ts`.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core alone registers no gradients. The @tensorflow/tfjs bundle registers all of them on
// this same tfjs-core (one pinned version), and its ESM-only sibling file cannot be loaded by Node.
import '@tensorflow/tfjs';

// Production mode: no debug NaN checks, and no banner recommending tfjs-node on every run.
tf.env().set('PROD', true);

export { tf };
export type Tensor = tf.Tensor;
export type Tensor1D = tf.Tensor1D;
export type Tensor2D = tf.Tensor2D;
export type Tensor3D = tf.Tensor3D;
export type Tensor4D = tf.Tensor4D;

/**
 * 2-D convolution with PyTorch nn.Conv2d semantics on NHWC data: square kernel, stride, symmetric
 * zero padding given explicitly (PyTorch's `padding=p`, so the output side is
 * floor((H + 2p - k) / s) + 1 for any input size, as in PyTorch, where tf's 'same' would pad
 * asymmetrically), optional bias. The kernel is kept in tf's layout [kh, kw, in, out] and exported
 * as PyTorch's [out, in, kh, kw]. Default init: kaiming_normal_(mode='fan_out',
 * nonlinearity='relu'), torchvision's ResNet init. Every forward reports its multiply-adds.
 */
import { tf } from '../tf.ts';
import { Module, type Param, type TorchEntry, directEntry } from '../module.ts';
import { recordMacs } from '../flops.ts';
import { kaimingNormal, zeros } from '../init.ts';
import type { Rng } from '../rng.ts';

export interface Conv2dOptions {
  stride?: number;
  /** Zero padding on every side; default kernelSize // 2 (torchvision's convs). */
  padding?: number;
  /** Default false (convs followed by BatchNorm). */
  bias?: boolean;
  trainable?: boolean;
  /** Weight init over n values; default kaiming normal with fan_out. */
  init?: (n: number) => Float32Array;
}

export class Conv2d extends Module {
  readonly weight: Param;
  readonly bias?: Param;
  readonly stride: number;
  readonly padding: number;

  constructor(
    readonly name: string,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    rng: Rng,
    opts: Conv2dOptions = {},
  ) {
    super();
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? Math.floor(kernelSize / 2);
    const k = kernelSize;
    const n = k * k * inChannels * outChannels;
    const w = opts.init ? opts.init(n) : kaimingNormal(n, outChannels * k * k, rng);
    const trainable = opts.trainable ?? true;
    this.weight = this.addParam(`${name}.weight`, [k, k, inChannels, outChannels], w, { trainable });
    if (opts.bias) this.bias = this.addParam(`${name}.bias`, [outChannels], zeros(outChannels), { trainable });
  }

  /** x [B, H, W, in] -> [B, H', W', out]. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    if (x.shape[3] !== this.inChannels) throw new Error(`${this.name}: expects ${this.inChannels} input channels, got ${x.shape[3]}`);
    const y = conv2d(x, this.weight.variable as tf.Tensor4D, this.stride, this.padding);
    return this.bias ? tf.add(y, this.bias.variable) : y;
  }

  protected override ownTorchEntries(): TorchEntry[] {
    const e = [convKernelEntry(this.weight)];
    if (this.bias) e.push(directEntry(this.bias));
    return e;
  }
}

/**
 * x [B, H, W, in] conv w [k, k, in, out] with a stride and `padding` zeros on every side
 * (PyTorch's conv2d(x, w, stride=s, padding=p)); reports its multiply-adds.
 */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, padding: number): tf.Tensor4D {
  const [b, h, wd] = x.shape;
  const [kh, kw, cin, cout] = w.shape;
  const oh = convOutputSize(h, kh, stride, padding);
  const ow = convOutputSize(wd, kw, stride, padding);
  recordMacs(b * oh * ow * cout * cin * kh * kw);
  const p = padding;
  const pad: 'valid' | [[number, number], [number, number], [number, number], [number, number]] =
    p === 0
      ? 'valid'
      : [
          [0, 0],
          [p, p],
          [p, p],
          [0, 0],
        ];
  return tf.conv2d(x, w, stride, pad, 'NHWC');
}

/** floor((side + 2 * padding - kernel) / stride) + 1 (PyTorch's conv and pooling output size, no dilation). */
export function convOutputSize(side: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((side + 2 * padding - kernel) / stride) + 1;
}

/** A state-dict entry for a conv kernel: engine [kh, kw, in, out] <-> PyTorch [out, in, kh, kw]. */
export function convKernelEntry(p: Param, name = p.name): TorchEntry {
  const [kh, kw, cin, cout] = p.shape;
  return {
    name,
    shape: [cout, cin, kh, kw],
    dtype: 'F32',
    read: async () => hwioToOihw((await p.variable.data()) as Float32Array, kh, kw, cin, cout),
    write: (data) => tf.tidy(() => p.variable.assign(tf.tensor(oihwToHwio(data as Float32Array, kh, kw, cin, cout), p.shape, 'float32'))),
  };
}

/** [kh, kw, in, out] -> [out, in, kh, kw], row-major. */
export function hwioToOihw(a: Float32Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) {
          out[((o * cin + i) * kh + y) * kw + x] = a[((y * kw + x) * cin + i) * cout + o];
        }
  return out;
}

/** [out, in, kh, kw] -> [kh, kw, in, out], row-major. */
export function oihwToHwio(a: Float32Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) {
          out[((y * kw + x) * cin + i) * cout + o] = a[((o * cin + i) * kh + y) * kw + x];
        }
  return out;
}

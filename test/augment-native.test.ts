/**
 * The native augmentation kernel (native/augment.c via augment/native-view.ts) against the batched
 * tensor ops of augment/policy.ts on the same drawn parameters: every op of both MoCo v3 views
 * (all jitter orders, grayscale, blur, solarize, flip), crops of another size, and the whole-image
 * crops of the streaming pipeline.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { Rng } from '../engine/rng.ts';
import { initBackend } from '../engine/backend.ts';
import { nativeAddon, nativeStatus } from '../engine/kernels/native-addon.ts';
import { applyViewParams, MOCO_V3_VIEWS, sampleViewParams, type ImageAugParams, type ViewSpec } from '../augment/policy.ts';
import { blurKernelSize } from '../augment/blur.ts';

const skip = nativeAddon() ? false : `native addon not built: ${nativeStatus()}`;

function images(seed: number, n: number, h: number, w: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * h * w * 3 }, () => rng.next());
}

async function view(
  native: boolean,
  x: Float32Array,
  shape: [number, number, number, number],
  params: ImageAugParams[],
  spec: ViewSpec,
  S: number,
) {
  await initBackend('wasm', { native, threads: 2 });
  return tf.tidy(() => applyViewParams(tf.tensor4d(x, shape), params, spec, { outSize: S }).dataSync().slice());
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('native augmentation kernel (SslAugmentView)', { skip }, () => {
  after(async () => initBackend('wasm', { native: true, threads: 1 }));

  const cases: { name: string; B: number; H: number; W: number; S: number; cropMin: number }[] = [
    { name: '20 x 24 images cropped to 20 px (blur kernel 3)', B: 48, H: 20, W: 24, S: 20, cropMin: 0.08 },
    { name: '28 px crops of 28 px images (tiny: blur kernel 1)', B: 32, H: 28, W: 28, S: 28, cropMin: 0.08 },
    { name: '32 px crops of 40 x 36 images (blur kernel 3)', B: 24, H: 40, W: 36, S: 32, cropMin: 0.2 },
  ];
  for (const c of cases)
    for (const [v, spec] of MOCO_V3_VIEWS.entries())
      it(`${c.name}, view ${v + 1}: equals the tensor ops within 1e-5`, async () => {
        const x = images(7 + v, c.B, c.H, c.W);
        const params = sampleViewParams(new Rng(100 + v), c.B, c.H, c.W, spec, { outSize: c.S, cropMin: c.cropMin });
        // every op somewhere in the batch, whatever the draw: gray, solarize, blur and flip on some images
        params.forEach((p, b) => {
          if (b % 5 === 0) p.grayscale = true;
          if (b % 7 === 1) p.solarize = true;
          if (b % 3 === 2) p.blur = true;
          if (b % 4 === 3) p.jitter.apply = true;
        });
        const shape: [number, number, number, number] = [c.B, c.H, c.W, 3];
        const ref = await view(false, x, shape, params, spec, c.S);
        const got = await view(true, x, shape, params, spec, c.S);
        const d = maxDiff(got, ref);
        assert.ok(d < 1e-5, `max difference ${d} (blur kernel ${blurKernelSize(c.S, spec.blur.kernelFraction)})`);
      });

  it('whole-image crops (the streaming pipeline): the photometric ops alone', async () => {
    const [B, S] = [16, 24];
    const x = images(3, B, S, S);
    const whole = { top: 0, left: 0, height: S, width: S, fallback: false };
    const params = sampleViewParams(new Rng(5), B, S, S, MOCO_V3_VIEWS[1], { outSize: S, cropMin: 1 }).map((p) => ({ ...p, crop: whole }));
    const ref = await view(false, x, [B, S, S, 3], params, MOCO_V3_VIEWS[1], S);
    const got = await view(true, x, [B, S, S, 3], params, MOCO_V3_VIEWS[1], S);
    assert.ok(maxDiff(got, ref) < 1e-5, `max difference ${maxDiff(got, ref)}`);
  });

  it('refuses a crop box outside the image, naming it', async () => {
    await initBackend('wasm', { native: true, threads: 1 });
    const params = sampleViewParams(new Rng(1), 2, 10, 10, MOCO_V3_VIEWS[0], { outSize: 8, cropMin: 0.5 });
    params[1].crop = { ...params[1].crop, top: 5, height: 8 };
    assert.throws(
      () => tf.tidy(() => applyViewParams(tf.zeros([2, 10, 10, 3]) as tf.Tensor4D, params, MOCO_V3_VIEWS[0], { outSize: 8 })),
      /box rows out of \[0, 10\)/,
    );
  });
});

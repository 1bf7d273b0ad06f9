/**
 * A float64 reference of a ResNet's eval-mode forward pass in plain JS, written from torchvision's
 * definition (not from backbones/resnet/): stem conv 7x7/2 pad 3 + max pool 3x3/2 pad 1 (or the
 * CIFAR stem 3x3/1 pad 1), Bottleneck blocks with the stride on the 3x3 conv of each stage's
 * first block from layer2 on, a 1x1 strided downsample where the model has one, global average
 * pool. Weights are read by their names, in the engine's layouts (conv kernels [kh, kw, in, out]).
 * Used to check the model's forward and, by float64 central differences (no float32 noise, steps
 * small enough to cross no ReLU kink), its gradients.
 */
export type Weights = Map<string, Float64Array>;

interface Map3 {
  h: number;
  w: number;
  c: number;
  d: Float64Array;
}

function conv(x: Map3, kernel: Float64Array, k: number, stride: number, pad: number): Map3 {
  const cout = kernel.length / (k * k * x.c);
  const h = Math.floor((x.h + 2 * pad - k) / stride) + 1;
  const w = Math.floor((x.w + 2 * pad - k) / stride) + 1;
  const d = new Float64Array(h * w * cout);
  for (let oy = 0; oy < h; oy++)
    for (let ox = 0; ox < w; ox++) {
      const o = (oy * w + ox) * cout;
      for (let ky = 0; ky < k; ky++)
        for (let kx = 0; kx < k; kx++) {
          const iy = oy * stride - pad + ky;
          const ix = ox * stride - pad + kx;
          if (iy < 0 || ix < 0 || iy >= x.h || ix >= x.w) continue;
          for (let ci = 0; ci < x.c; ci++) {
            const v = x.d[(iy * x.w + ix) * x.c + ci];
            const kb = ((ky * k + kx) * x.c + ci) * cout;
            for (let co = 0; co < cout; co++) d[o + co] += v * kernel[kb + co];
          }
        }
    }
  return { h, w, c: cout, d };
}

function bn(x: Map3, W: Weights, name: string, eps: number): Map3 {
  const [g, b, m, v] = ['weight', 'bias', 'running_mean', 'running_var'].map((s) => W.get(`${name}.${s}`)!);
  const d = x.d.map((a, i) => {
    const c = i % x.c;
    return ((a - m[c]) / Math.sqrt(v[c] + eps)) * g[c] + b[c];
  });
  return { ...x, d };
}

const relu = (x: Map3): Map3 => ({ ...x, d: x.d.map((a) => Math.max(a, 0)) });

function maxPool3s2p1(x: Map3): Map3 {
  const h = Math.floor((x.h + 2 - 3) / 2) + 1;
  const w = Math.floor((x.w + 2 - 3) / 2) + 1;
  const d = new Float64Array(h * w * x.c).fill(-Infinity);
  for (let oy = 0; oy < h; oy++)
    for (let ox = 0; ox < w; ox++)
      for (let ky = 0; ky < 3; ky++)
        for (let kx = 0; kx < 3; kx++) {
          const iy = oy * 2 - 1 + ky;
          const ix = ox * 2 - 1 + kx;
          if (iy < 0 || ix < 0 || iy >= x.h || ix >= x.w) continue;
          for (let c = 0; c < x.c; c++) d[(oy * w + ox) * x.c + c] = Math.max(d[(oy * w + ox) * x.c + c], x.d[(iy * x.w + ix) * x.c + c]);
        }
  return { h, w, c: x.c, d };
}

const convBn = (x: Map3, W: Weights, conv_: string, bn_: string, k: number, stride: number, eps: number) =>
  bn(conv(x, W.get(`${conv_}.weight`)!, k, stride, Math.floor(k / 2)), W, bn_, eps);

/** Pooled features [B, D] (flat) of images [B, H, W, 3] (flat), eval mode. */
export function referenceForward(W: Weights, images: Float64Array, shape: number[], stem: 'imagenet' | 'cifar', eps = 1e-5): Float64Array {
  const [B, H, Wd, C] = shape;
  const blocks = [...new Set([...W.keys()].map((n) => /^(layer\d\.\d+)\./.exec(n)?.[1]).filter((n): n is string => !!n))];
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    let x: Map3 = { h: H, w: Wd, c: C, d: images.slice(b * H * Wd * C, (b + 1) * H * Wd * C) };
    x = relu(convBn(x, W, 'conv1', 'bn1', stem === 'imagenet' ? 7 : 3, stem === 'imagenet' ? 2 : 1, eps));
    if (stem === 'imagenet') x = maxPool3s2p1(x);
    for (const name of blocks) {
      const [, layer, index] = /^layer(\d)\.(\d+)$/.exec(name)!.map(Number);
      const stride = index === 0 && layer > 1 ? 2 : 1;
      let h = relu(convBn(x, W, `${name}.conv1`, `${name}.bn1`, 1, 1, eps));
      h = relu(convBn(h, W, `${name}.conv2`, `${name}.bn2`, 3, stride, eps));
      h = convBn(h, W, `${name}.conv3`, `${name}.bn3`, 1, 1, eps);
      const shortcut = W.has(`${name}.downsample.0.weight`)
        ? convBn(x, W, `${name}.downsample.0`, `${name}.downsample.1`, 1, stride, eps)
        : x;
      x = relu({ ...h, d: h.d.map((a, i) => a + shortcut.d[i]) });
    }
    for (let c = 0; c < x.c; c++) {
      let s = 0;
      for (let i = 0; i < x.h * x.w; i++) s += x.d[i * x.c + c];
      out.push(s / (x.h * x.w));
    }
  }
  return Float64Array.from(out);
}

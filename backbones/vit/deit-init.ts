/**
 * The init of a from-scratch DeiT ViT (Table 5's "random init." rows; `finetune: 'scratch'`).
 *
 * MoCo v3's transfer runs use the DeiT repo (`deit_base_patch16_224`: timm's VisionTransformer
 * with qkv_bias=True and LayerNorm eps 1e-6), whose requirements pin timm 0.3.2. That timm's
 * `VisionTransformer.__init__` initialises:
 *  - `pos_embed` (learned, [1, N+1, D]) and `cls_token`: trunc_normal_(std=.02);
 *  - every nn.Linear (`_init_weights`: qkv, attn proj, fc1, fc2, head): weight trunc_normal_(std=.02),
 *    bias 0; nn.LayerNorm: weight 1, bias 0;
 *  - `patch_embed.proj`, an nn.Conv2d that `_init_weights` does not touch: PyTorch's default,
 *    kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = C * p * p, and
 *    its bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
 * timm's trunc_normal_ truncates at a=-2, b=2 in absolute units, i.e. at +-100 std for std .02:
 * in effect N(0, .02^2). (Later timm keeps all of this in its default `init_weights` mode except
 * `cls_token`, which it draws from N(0, 1e-6^2); the 'jax' mode gives the conv lecun_normal, the
 * 'moco' mode is MoCo v3's init. We follow the timm DeiT ran on.)
 *
 * What differs from the MoCo v3 pre-training ViT (vits.py, ./vit.ts): there the patch projection
 * is Xavier-uniform over (C p p, D) and frozen, `pos_embed` is the fixed 2-D sin-cos table,
 * `cls_token` is N(0, 1e-6^2), and the Linear layers are Xavier-uniform (q, k, v each as its own
 * D x D matrix). BatchNorm (ViT-BN) keeps weight 1, bias 0 and its running statistics either way.
 */
import { tf } from '../../engine/tf.ts';
import type { Param } from '../../engine/module.ts';
import type { Linear } from '../../engine/layers/linear.ts';
import type { Rng } from '../../engine/rng.ts';

/** timm's trunc_normal_(tensor, mean=0, std, a, b): N(0, std^2) redrawn outside [a, b] (absolute bounds, default +-2). */
export function timmTruncNormal(n: number, std: number, rng: Rng, a = -2, b = 2): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    do v = rng.normal(0, std);
    while (v < a || v > b);
    out[i] = v;
  }
  return out;
}

/** U(-1/sqrt(fanIn), 1/sqrt(fanIn)): PyTorch's default init of a Conv2d / Linear weight (kaiming_uniform_ with a=sqrt(5)) and bias. */
export function torchDefaultUniform(n: number, fanIn: number, rng: Rng): Float32Array {
  const bound = 1 / Math.sqrt(fanIn);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng.next() * 2 - 1) * bound;
  return out;
}

function assign(p: Param, data: Float32Array): void {
  tf.tidy(() => p.variable.assign(tf.tensor(data, p.shape, 'float32')));
}

function initLinear(l: Linear, rng: Rng): void {
  assign(l.weight, timmTruncNormal(l.weight.size, 0.02, rng));
  if (l.bias) assign(l.bias, new Float32Array(l.bias.size));
}

/**
 * Overwrites a built ViT's values with timm 0.3.2's ViT init (above), drawing from `rng` in a fixed
 * order: patch projection, [CLS], position embedding, then each block's qkv, proj, fc1, fc2.
 * Norm layers already hold weight 1, bias 0.
 */
/** What deitInit touches of a ViT (structurally: vit.ts's VisionTransformer is one, without this file importing it). */
export interface DeitInitTarget {
  readonly patchEmbed: { readonly proj: Linear };
  readonly clsToken?: Param;
  readonly posEmbed?: Param;
  readonly blocks: readonly {
    readonly attn: { readonly qkv: Linear; readonly proj: Linear };
    readonly mlp: { readonly fc1: Linear; readonly fc2: Linear };
  }[];
}

export function deitInit(vit: DeitInitTarget, rng: Rng): void {
  const proj = vit.patchEmbed.proj;
  const fanIn = proj.inFeatures;
  assign(proj.weight, torchDefaultUniform(proj.weight.size, fanIn, rng));
  if (proj.bias) assign(proj.bias, torchDefaultUniform(proj.bias.size, fanIn, rng));
  if (vit.clsToken) assign(vit.clsToken, timmTruncNormal(vit.clsToken.size, 0.02, rng));
  if (vit.posEmbed) assign(vit.posEmbed, timmTruncNormal(vit.posEmbed.size, 0.02, rng));
  for (const blk of vit.blocks) {
    initLinear(blk.attn.qkv, rng);
    initLinear(blk.attn.proj, rng);
    initLinear(blk.mlp.fc1, rng);
    initLinear(blk.mlp.fc2, rng);
  }
}

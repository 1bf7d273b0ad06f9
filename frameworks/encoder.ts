/**
 * An encoder = backbone + projection head, grouped as one module so that checkpoints name its
 * tensors like the official releases' state dicts (`base_encoder.blocks.0...`,
 * `base_encoder.head.0.weight`) and so that a momentum (EMA) copy can be paired with it
 * parameter by parameter (`pairParams`). Used by MoCo v3, BYOL, SimCLR and SwAV (whose prototypes
 * ride along as an extra child, exported as `prototypes.weight` like SwAV's state dict).
 */
import { Module } from '../engine/module.ts';
import type { Backbone } from '../backbones/backbone.ts';
import type { MlpHead } from './heads/mlp-head.ts';

export class Encoder extends Module {
  constructor(
    readonly backbone: Backbone,
    readonly projector: MlpHead,
    ...extra: Module[]
  ) {
    super();
    this.addChild(backbone);
    this.addChild(projector);
    for (const m of extra) this.addChild(m);
  }
}

/**
 * Memory estimated before allocation: a run whose views or activations cannot fit is refused with
 * the estimate and the limit, instead of dying in the middle (`Invalid typed array length`, an
 * aborted wasm runtime). The limit is the wasm backend's 4 GiB heap, or the machine's memory on the
 * other backends. Estimates count the big buffers (input views, the backbone's activations as its
 * family reports them); they are lower bounds, so a refusal is never a false alarm.
 */
import os from 'node:os';
import type { BackboneFamily } from '../backbones/backbone.ts';
import type { BackboneOptions } from '../core/config.ts';
import { activeBackend } from '../engine/backend.ts';

const GiB = 1024 ** 3;

export function memoryLimit(): { bytes: number; what: string } {
  const b = activeBackend()?.name;
  if (b === 'wasm') return { bytes: 4 * GiB, what: "the wasm backend's 4 GiB heap" };
  return { bytes: os.totalmem(), what: `this machine's ${(os.totalmem() / GiB).toFixed(1)} GiB of memory` };
}

/** Bytes as GiB with two decimals, as the estimates are printed. */
export const gib = (n: number) => `${(n / GiB).toFixed(2)} GiB`;

export interface Estimate {
  bytes: number;
  /** What makes it up, for the message. */
  parts: string[];
}

/** Float32 images of `side` x `side` x `channels`, `count` of them. */
export function imageBytes(count: number, side: number, channels = 3): number {
  return count * side * side * channels * 4;
}

/** Activations of a backbone forward on `batch` images (training: kept for backward), when the family can tell. */
export function backboneEstimate(family: BackboneFamily, name: string, opts: BackboneOptions, batch: number, training: boolean): Estimate {
  const bytes = family.activationBytes?.(name, opts, batch, training) ?? 0;
  return { bytes, parts: bytes ? [`${name} activations for ${batch} image(s) at ${opts.imageSize} px: ${gib(bytes)}`] : [] };
}

/** Throws when `e` is over the limit, naming what asked for it, the estimate and the limit. */
export function checkMemory(what: string, e: Estimate, limit = memoryLimit()): void {
  if (e.bytes <= limit.bytes) return;
  throw new Error(
    `${what}: needs at least ${gib(e.bytes)} (${e.parts.join('; ')}), more than ${limit.what}; ` +
      'use a smaller batch, image size or view size, --recompute for training, or a machine with more memory',
  );
}

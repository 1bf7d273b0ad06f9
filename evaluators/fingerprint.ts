/**
 * Bit-level fingerprints of a module's whole state, to prove that an evaluation left a frozen
 * backbone untouched (the MoCo v3 linear-probe sanity check: the backbone is bit-identical after
 * training the classifier).
 *
 * Every tf.Variable of the module (parameters and buffers: BN running statistics, frozen patch
 * projections, ...) and every non-variable state-dict entry (BN `num_batches_tracked`) gets a 64-bit
 * hash of its raw bytes (two independent murmur3-style 32-bit lanes) plus its shape and dtype.
 * Hashing instead of copying keeps the cost at O(1) memory per tensor. Every step of a lane is a
 * bijection of its state for a fixed word, so any change confined to one 32-bit word always changes
 * the hash; other changes go undetected with probability about 2^-64. -0 vs +0 and NaN payloads
 * count as changes (bits, not values, are compared).
 */
import type { Module } from '../engine/module.ts';

/** One hash per tensor, keyed `<index>:<name>` (index in `allParams()` order; `state:<name>` for non-variable entries). */
export type Fingerprint = Map<string, string>;

function hashWords(words: Uint32Array, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < words.length; i++) {
    let k = Math.imul(words[i], 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= words.length;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** 64-bit hash (16 hex digits) of the bytes of a typed array (length padded to whole 32-bit words). */
export function hashBytes(data: ArrayBufferView): string {
  let words: Uint32Array;
  if (data.byteOffset % 4 === 0 && data.byteLength % 4 === 0) {
    words = new Uint32Array(data.buffer, data.byteOffset, data.byteLength / 4);
  } else {
    const copy = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
    copy.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    words = new Uint32Array(copy.buffer);
  }
  const hex = (x: number) => x.toString(16).padStart(8, '0');
  return hex(hashWords(words, 0x9747b28c)) + hex(hashWords(words, 0x2545f491));
}

/** Fingerprint of every variable and non-variable state entry of `m` (reads them all back). */
export async function fingerprint(m: Module): Promise<Fingerprint> {
  const out: Fingerprint = new Map();
  for (const [i, p] of m.allParams().entries()) {
    const v = p.variable;
    out.set(`${i}:${p.name}`, `${v.dtype}[${v.shape}]:${hashBytes((await v.data()) as Float32Array)}`);
  }
  const names = new Set(m.allParams().map((p) => p.name));
  for (const e of m.torchEntries()) {
    // entries that are views of variables are covered above; the rest (num_batches_tracked) are JS state
    if (e.dtype === 'I64' || !names.has(e.name)) out.set(`state:${e.name}`, `${e.dtype}[${e.shape}]:${hashBytes(await e.read())}`);
  }
  return out;
}

/** Names of the entries that differ between two fingerprints (added or removed ones included). */
export function changedEntries(before: Fingerprint, after: Fingerprint): string[] {
  const changed: string[] = [];
  for (const [k, v] of before) if (after.get(k) !== v) changed.push(k);
  for (const k of after.keys()) if (!before.has(k)) changed.push(k);
  return changed;
}

/** Throws an Error naming `what` and the changed tensors unless the fingerprints are identical. */
export function assertUnchanged(before: Fingerprint, after: Fingerprint, what: string): void {
  const changed = changedEntries(before, after);
  if (changed.length === 0) return;
  const shown = changed.slice(0, 8).join(', ') + (changed.length > 8 ? `, ... (${changed.length} in all)` : '');
  throw new Error(`${what}: the frozen backbone changed (not bit-identical): ${shown}`);
}

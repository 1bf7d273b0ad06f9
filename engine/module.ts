/**
 * Named parameters and the module tree.
 *
 * A `Param` is a tf.Variable with the PyTorch (timm / official MoCo v3) name it is exported under,
 * a trainable flag (frozen ones get no gradient and no update) and a kind: `param` counts as a
 * model parameter, `buffer` (BN running statistics) does not. Modules own params and children;
 * each module also says how its params map to PyTorch tensors (`torchEntries`), because the engine
 * keeps layouts that are fast here (a Linear weight is [in, out]) while PyTorch keeps [out, in].
 */
import { tf } from './tf.ts';

export type ParamKind = 'param' | 'buffer';

export class Param {
  readonly variable: tf.Variable;

  constructor(
    readonly name: string,
    value: tf.Tensor,
    readonly trainable: boolean,
    readonly kind: ParamKind = 'param',
  ) {
    // tf.variable names must be globally unique; our name lives here, not in the variable.
    this.variable = tf.variable(value, trainable);
    value.dispose();
  }

  get shape(): number[] {
    return this.variable.shape;
  }

  get size(): number {
    return this.variable.size;
  }
}

/** One tensor of a PyTorch state dict, with how to read it from and write it into the engine. */
export interface TorchEntry {
  name: string;
  shape: number[];
  dtype: 'F32' | 'I64';
  /** The tensor in PyTorch layout, read back asynchronously (the only read some backends, WebGPU, allow). */
  read(): Promise<Float32Array | BigInt64Array>;
  write(data: Float32Array | BigInt64Array): void;
}

export abstract class Module {
  private readonly ownParams: Param[] = [];
  private readonly childModules: Module[] = [];

  protected addParam(name: string, shape: number[], data: Float32Array, opts: { trainable?: boolean; kind?: ParamKind } = {}): Param {
    const p = new Param(name, tf.tensor(data, shape, 'float32'), opts.trainable ?? true, opts.kind ?? 'param');
    this.ownParams.push(p);
    return p;
  }

  protected addChild<M extends Module>(m: M): M {
    this.childModules.push(m);
    return m;
  }

  /** Every Param of this module and its children, in construction order. */
  allParams(): Param[] {
    return [...this.ownParams, ...this.childModules.flatMap((c) => c.allParams())];
  }

  /** Model parameters (not buffers), frozen ones included. */
  parameters(): Param[] {
    return this.allParams().filter((p) => p.kind === 'param');
  }

  trainableParams(): Param[] {
    return this.allParams().filter((p) => p.kind === 'param' && p.trainable);
  }

  /** The tf.Variables of every param and buffer (what a checkpointed call of this module reads). */
  get variables(): tf.Variable[] {
    return this.allParams().map((p) => p.variable);
  }

  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0);
  }

  /**
   * PyTorch state-dict entries. The default maps each own param one-to-one with the same layout;
   * modules whose layout differs (Linear, attention) override `ownTorchEntries`.
   */
  torchEntries(): TorchEntry[] {
    return [...this.ownTorchEntries(), ...this.childModules.flatMap((c) => c.torchEntries())];
  }

  protected ownTorchEntries(): TorchEntry[] {
    return this.ownParams.map((p) => directEntry(p));
  }

  dispose(): void {
    for (const p of this.allParams()) p.variable.dispose();
  }
}

/** A state-dict entry whose layout is the engine's layout. */
export function directEntry(p: Param, name = p.name): TorchEntry {
  return {
    name,
    shape: p.shape,
    dtype: 'F32',
    read: async () => (await p.variable.data()) as Float32Array,
    write: (data) => tf.tidy(() => p.variable.assign(tf.tensor(data as Float32Array, p.shape, 'float32'))),
  };
}

/**
 * A state-dict entry stored transposed in the engine (2-D: engine [in, out] <-> torch [out, in]).
 * `torchShape` reshapes the torch side (a conv weight [out, c, kh, kw] is [out, c*kh*kw] here).
 */
export function transposedEntry(p: Param, name = p.name, torchShape?: number[]): TorchEntry {
  const [rows, cols] = p.shape;
  return {
    name,
    shape: torchShape ?? [cols, rows],
    dtype: 'F32',
    read: async () => transpose2d((await p.variable.data()) as Float32Array, rows, cols),
    write: (data) => tf.tidy(() => p.variable.assign(tf.tensor(transpose2d(data as Float32Array, cols, rows), p.shape, 'float32'))),
  };
}

/** Row-major [rows, cols] -> [cols, rows]. */
export function transpose2d(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

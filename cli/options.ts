/** Option parsers shared by the commands; each error names the flag. */
import { InvalidArgumentError, Option } from 'commander';
import { BACKEND_CHOICES } from '../engine/backend-choices.ts';
import { GEMM_LIBRARIES, PRECISIONS } from '../engine/kernels/gemm-route.ts';
import fs from 'node:fs';
import path from 'node:path';
import { writeFailure } from '../core/file-set.ts';
import type { Registry } from '../container/container.ts';
import { envPluginFiles, registryWithPlugins } from '../container/plugin-files.ts';

export function intOption(flag: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${flag} must be an integer >= ${min}, got '${value}'`);
    return n;
  };
}

/** --backend, one of the engine's choices (commander rejects any other, naming the flag and the choices). */
export const backendOption = () => new Option('--backend <name>', 'compute backend').choices(BACKEND_CHOICES).default('auto');

/** --precision: fp32, or bf16 products in the linear layers (fp32 accumulation, master weights, loss). */
export const precisionOption = (what: string) =>
  new Option(
    '--precision <p>',
    `${what}: fp32, or bf16 inputs to the matrix products, linear layers' and attention's (fp32 accumulation and all else; needs oneDNN)`,
  )
    .choices(PRECISIONS)
    .default('fp32');

/** Adds --backend, --threads, --no-native, --recompute and --gemm to a command. */
export function withEngineOptions(cmd: import('commander').Command): import('commander').Command {
  return cmd
    .addOption(backendOption())
    .addOption(
      new Option(
        '--gemm <library>',
        "the native GEMM's library: auto (oneDNN for products of 2^20 multiply-adds and up, when built), openblas, onednn",
      )
        .choices(GEMM_LIBRARIES)
        .default('auto'),
    )
    .option('--threads <n>', 'threads of the native GEMM (default: all CPUs)', intOption('--threads', 1))
    .option('--no-native', 'use the stock tfjs kernels even when the native GEMM is built')
    .option('--recompute', 'recompute transformer blocks in backward (less memory, about one extra forward)');
}

export interface EngineFlags {
  backend: string;
  threads?: number;
  native: boolean;
  recompute?: boolean;
  gemm?: import('../engine/kernels/gemm-route.ts').GemmChoice;
}

/** Initialise the engine from the flags of `withEngineOptions`. */
export async function initEngine(f: EngineFlags) {
  const { initBackend, parseBackendChoice } = await import('../engine/backend.ts');
  return initBackend(parseBackendChoice(f.backend), { threads: f.threads, native: f.native, recompute: f.recompute, gemm: f.gemm });
}

/** Adds the backbone ablation switches to a command. */
export function withBackboneOptions(cmd: import('commander').Command): import('commander').Command {
  return cmd
    .option('--patch-size <n>', 'patch size (default: from the name, e.g. vit-b/16)', intOption('--patch-size', 1))
    .option('--pos-embed <kind>', 'position embedding: sincos | learned | none')
    .option('--pooling <kind>', 'output: cls | gap-ln | gap (no [CLS])')
    .option('--mlp-batch-norm', 'ViT-BN: BatchNorm instead of LayerNorm before each MLP')
    .option('--stem <kind>', 'ResNet stem: imagenet (7x7/2 conv + max pool) | cifar (3x3/1 conv); default: cifar up to 64 px')
    .option('--zero-init-residual', "ResNet: each block's last BN gamma starts at 0 (torchvision's zero_init_residual)");
}

export interface BackboneFlags {
  patchSize?: number;
  imageSize?: number;
  posEmbed?: string;
  pooling?: string;
  mlpBatchNorm?: boolean;
  stem?: string;
  zeroInitResidual?: boolean;
}

export function backboneOptionsFrom(f: BackboneFlags): import('../core/config.ts').BackboneOptions {
  const pick = <T extends string>(flag: string, v: string | undefined, allowed: readonly T[]): T | undefined => {
    if (v === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(v)) throw new Error(`${flag}: '${v}' is not one of ${allowed.join(', ')}`);
    return v as T;
  };
  return {
    patchSize: f.patchSize,
    imageSize: f.imageSize,
    posEmbed: pick('--pos-embed', f.posEmbed, ['sincos', 'learned', 'none'] as const),
    pooling: pick('--pooling', f.pooling, ['cls', 'gap-ln', 'gap'] as const),
    mlpBatchNorm: f.mlpBatchNorm,
    stem: pick('--stem', f.stem, ['imagenet', 'cifar'] as const),
    zeroInitResidual: f.zeroInitResidual,
  };
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** `--plugin FILE`: a user's plugin file (container/plugin-files.ts), repeatable. */
export const PLUGIN_FLAG = [
  '--plugin <file>',
  'load plugins (a module default-exporting a framework, backbone, optimiser, ... descriptor or an array of them); repeatable; also ' +
    'SSLBENCH_PLUGINS',
  collect,
  [] as string[],
] as const;

/**
 * The registry of a command: built-ins plus the plugin files given (and SSLBENCH_PLUGINS). The
 * files are added to SSLBENCH_PLUGINS so that processes this one starts (queue cells) load them too.
 */
export async function commandRegistry(files: readonly string[] = []): Promise<Registry> {
  const abs = files.map((f) => path.resolve(f));
  if (abs.length) process.env.SSLBENCH_PLUGINS = [...envPluginFiles(), ...abs].join(path.delimiter);
  return registryWithPlugins();
}

/**
 * Checks, before any work, that the command will be able to write to a folder (made later if it is
 * missing): the folder, or its nearest existing ancestor, must be a writable folder. The error names
 * the flag, the folder and why (read-only file system, permission, a file in the way).
 */
export function writableDir(flag: string, dir: string): string {
  const abs = path.resolve(dir);
  let at = abs;
  while (!fs.existsSync(at) && path.dirname(at) !== at) at = path.dirname(at);
  const fail = (why: string) => {
    throw new Error(`${flag} ${dir}: cannot write there (${why})`);
  };
  if (!fs.statSync(at).isDirectory()) fail(`ENOTDIR: ${at} is a file`);
  try {
    fs.accessSync(at, fs.constants.W_OK);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    fail(`${writeFailure(e)}${e.code === 'EACCES' ? ` on ${at}` : ''}`);
  }
  return abs;
}

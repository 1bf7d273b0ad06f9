/**
 * The WebGPU backend on Dawn's Node binding (`webgpu`, its `dawn.node` shipped in the package) and
 * tfjs's webgpu backend. Dawn needs a Vulkan driver: a GPU's, or Mesa's software lavapipe (Debian
 * bookworm-backports' Mesa 25; bookworm's own Mesa 22.3 lacks a feature Dawn needs). `auto` uses
 * WebGPU only on a hardware adapter (the native CPU kernels beat lavapipe); `--backend webgpu`
 * takes whatever adapter Dawn finds, software included.
 *
 * tfjs's webgpu backend reads tensors back synchronously through OffscreenCanvas, which Node does
 * not have: only asynchronous reads (`await t.data()`) work on it, so every readback on sslbench's
 * paths is asynchronous (biome's noFloatingPromises keeps them awaited).
 */
import fs from 'node:fs';
import { tf } from './tf.ts';

export interface AdapterReport {
  vendor: string;
  architecture: string;
  description: string;
  device: string;
  /** A software (CPU) implementation such as llvmpipe / lavapipe. */
  software: boolean;
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number; maxComputeWorkgroupStorageSize: number };
}

export class WebgpuUnavailable extends Error {}

const VULKAN_HINT =
  'install a Vulkan driver: a GPU vendor driver, or Mesa from Debian bookworm-backports for the software adapter ' +
  '(add a deb822 source with Suites: bookworm-backports, then apt-get install -t bookworm-backports mesa-vulkan-drivers)';

/** Vulkan drivers (ICDs) installed, by their manifest names; lavapipe's is lvp_icd.*. */
export function vulkanDrivers(): string[] {
  const dirs = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d'];
  return dirs.flatMap((d) => (fs.existsSync(d) ? fs.readdirSync(d).filter((f) => f.endsWith('.json')) : []));
}

/** Whether a GPU may serve Vulkan here: a driver other than lavapipe, and a GPU device node (DRM render node or NVIDIA). */
export function hardwareVulkan(): boolean {
  const gpuNode =
    (fs.existsSync('/dev/dri') && fs.readdirSync('/dev/dri').some((f) => f.startsWith('renderD'))) ||
    (fs.existsSync('/dev') && fs.readdirSync('/dev').some((f) => /^nvidia\d+$/.test(f)));
  return gpuNode && vulkanDrivers().some((f) => !f.startsWith('lvp_icd'));
}

interface Gpu {
  requestAdapter(): Promise<
    | {
        info?: { vendor?: string; architecture?: string; description?: string; device?: string };
        isFallbackAdapter?: boolean;
        limits: AdapterReport['limits'];
      }
    | null
    | undefined
  >;
}

let loaded: AdapterReport | undefined;

/** Creates Dawn's GPU, finds an adapter and makes tfjs's webgpu backend current. */
export async function loadWebgpu(): Promise<AdapterReport> {
  if (loaded && tf.getBackend() === 'webgpu') return loaded;
  let dawn: { create(flags: string[]): Gpu; globals: Record<string, unknown> };
  try {
    dawn = (await import('webgpu')) as unknown as typeof dawn;
  } catch (err) {
    throw new WebgpuUnavailable(`the 'webgpu' package (Dawn's Node binding) failed to load: ${(err as Error).message}`);
  }
  if (!vulkanDrivers().length) throw new WebgpuUnavailable(`no Vulkan driver is installed, so Dawn has no adapter; ${VULKAN_HINT}`);
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create(['backend=vulkan']);
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    throw new WebgpuUnavailable(
      `Dawn found no WebGPU adapter (Vulkan drivers: ${vulkanDrivers().join(', ')}); Debian bookworm's own Mesa 22.3 lavapipe ` +
        `is too old for Dawn; ${VULKAN_HINT}`,
    );
  }
  // tfjs's webgpu backend looks for navigator.gpu
  Object.defineProperty(globalThis, 'navigator', { value: { ...(globalThis.navigator ?? {}), gpu }, configurable: true, writable: true });
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new WebgpuUnavailable("tfjs's webgpu backend failed to initialise on the adapter");
  await tf.ready();
  const info = adapter.info ?? {};
  const l = adapter.limits;
  loaded = {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    description: info.description ?? '',
    device: info.device ?? '',
    software:
      adapter.isFallbackAdapter === true ||
      info.architecture === 'software' ||
      /llvmpipe|lavapipe|swiftshader/i.test(info.description ?? ''),
    limits: {
      maxBufferSize: l.maxBufferSize,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    },
  };
  return loaded;
}

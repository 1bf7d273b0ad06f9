/** `bench env`: which backend runs, why, versions, and whether a GPU is really used. */
import { Command } from 'commander';
import os from 'node:os';
import { tf } from '../../engine/tf.ts';
import { type EngineFlags, initEngine, withEngineOptions } from '../options.ts';
import { measureGemmClasses } from '../../bench/gemm-classes.ts';
import { BF16_IMPLEMENTATION_RULE } from '../../engine/kernels/gemm-route.ts';

export function envCommand(): Command {
  return withEngineOptions(
    new Command('env')
      .description('print the backend in use, why it was chosen, versions, and whether a GPU is used')
      .option('--json', 'print JSON')
      .option('--no-gemm-table', 'skip timing each GEMM class on OpenBLAS and oneDNN (a few seconds)'),
  ).action(async (o: EngineFlags & { json?: boolean; gemmTable: boolean }) => {
    const r = await initEngine(o);
    const gemmClasses = r.native.kernels.length && o.gemmTable ? measureGemmClasses() : undefined;
    const info = {
      backend: r.name,
      package: r.package,
      requested: r.requested,
      gpu: r.gpu,
      reason: r.reason,
      versions: r.versions,
      native: r.native,
      gemmClasses,
      adapter: r.adapter,
      flags: tf.env().getFlags(),
      cpus: os.cpus().length,
      memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    };
    if (o.json) {
      console.log(JSON.stringify(info, null, 2));
      return;
    }
    console.log(`backend:   ${r.name} (${r.package}), requested '${r.requested}'`);
    console.log(`gpu:       ${r.gpu ? 'yes, kernels run on the GPU' : 'no'}`);
    console.log(
      `native:    ${
        r.native.kernels.length
          ? `${r.native.kernels.join(', ')} on the native GEMM, ` + `${r.native.threads} thread(s)`
          : 'stock tfjs kernels'
      }; ${r.native.status}`,
    );
    if (r.native.gemm) console.log(`gemm:      ${r.native.gemm}`);
    if (r.native.gemm?.includes('oneDNN')) console.log(`bf16:      ${BF16_IMPLEMENTATION_RULE}`);
    if (gemmClasses) {
      console.log('gemm classes (fp32 GFLOP/s, measured now; the route is fixed by class, never by timing at run time):');
      console.log(`  ${'class'.padEnd(12)} ${'example'.padEnd(42)} ${'OpenBLAS'.padStart(9)} ${'oneDNN'.padStart(9)}  route`);
      for (const g of gemmClasses) {
        const faster = g.onednn === undefined ? 'openblas' : g.onednn > g.openblas ? 'onednn' : 'openblas';
        console.log(
          `  ${g.cls.padEnd(12)} ${g.shape.padEnd(42)} ${g.openblas.toFixed(1).padStart(9)} ${(g.onednn?.toFixed(1) ?? '-').padStart(9)}  ` +
            `${g.chosen}${faster === g.chosen ? '' : ` (${faster} measured faster here)`}`,
        );
      }
    }
    if (r.adapter) {
      const a = r.adapter;
      console.log(
        `adapter:   ${a.description} (vendor ${a.vendor}, architecture ${a.architecture}, device ${a.device})${a.software ? ', software' : ''}`,
      );
      console.log(
        `limits:    maxBufferSize ${a.limits.maxBufferSize}, maxStorageBufferBindingSize ${a.limits.maxStorageBufferBindingSize}, ` +
          `maxComputeWorkgroupStorageSize ${a.limits.maxComputeWorkgroupStorageSize}`,
      );
    }
    console.log('why:');
    for (const line of r.reason) console.log(`  - ${line}`);
    console.log('versions:');
    for (const [k, v] of Object.entries(r.versions)) console.log(`  ${k.padEnd(18)} ${v}`);
    console.log(`machine:   ${info.cpus} CPUs, ${info.memoryGiB} GiB`);
  });
}

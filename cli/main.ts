/** The `bench` command line. Every error is printed as one clear message and exit code 1. */
import { sslbenchVersion } from '../core/provenance.ts';
import { Command } from 'commander';
import { wasmHeapBytes } from '../engine/backend.ts';
import { envCommand } from './commands/env.ts';
import { listCommand } from './commands/list.ts';
import { runCommand } from './commands/run.ts';
import { embedCommand } from './commands/embed.ts';
import { weightsCommand } from './commands/weights.ts';
import { perfCommand } from './commands/perf.ts';
import { detectorCommand } from './commands/detector.ts';
import { reportCommand } from './commands/report.ts';
import { curveCommand } from './commands/curve.ts';
import { workerCommand } from './commands/worker.ts';
import { claimsCommand } from './commands/claims.ts';

const program = new Command('bench')
  .description('sslbench: the MoCo v3 empirical study of self-supervised ViTs, as runnable suites')
  .version(sslbenchVersion(), '-V, --version', "print sslbench's version")
  .showHelpAfterError()
  .addCommand(envCommand())
  .addCommand(listCommand())
  .addCommand(runCommand())
  .addCommand(reportCommand())
  .addCommand(curveCommand())
  .addCommand(claimsCommand())
  .addCommand(workerCommand())
  .addCommand(embedCommand())
  .addCommand(weightsCommand())
  .addCommand(perfCommand())
  .addCommand(detectorCommand());

// one error style across commands: commander's own errors (unknown option, missing argument) as ours
const output = { outputError: (str: string, write: (s: string) => void) => write(`bench: ${str}`) };
for (const cmd of [program, ...program.commands]) cmd.configureOutput(output);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  console.error(`bench: error: ${(err as Error).message}${wasmHeapHint()}`);
  process.exit(1);
}

/** After the wasm backend runs out of its 4 GiB heap, its errors say little: say what happened. */
function wasmHeapHint(): string {
  const heap = wasmHeapBytes();
  return heap !== undefined && heap > 3.5 * 2 ** 30
    ? `\n  (the wasm backend's heap is at ${(heap / 2 ** 30).toFixed(1)} of its 4 GiB limit: use a smaller batch or chunk (bench perf's ` +
        `--batch / --chunk, a cell's optimizer.batch / optimizer.chunk), or --recompute to recompute transformer blocks in backward)`
    : '';
}

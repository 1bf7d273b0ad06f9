/**
 * Ctrl-C and SIGTERM during `bench run`: the first stops the training loop after its step with a
 * checkpoint (runner/training/interrupt.ts) and the command says where it stopped and how to
 * resume; a second one, or one while no cell trains, exits at once (exit handlers release the run
 * locks). Exit status 128 + the signal's number, as shells report it.
 */
import { requestStop, stopRequestedBy, trainingActive } from '../runner/training/interrupt.ts';

export const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

export function installStopHandlers(): void {
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopRequestedBy() !== undefined || !trainingActive()) {
      console.error(
        `\nbench: ${sig}: stopped at once; finished cells and the last checkpoints are kept: run the same command again to resume`,
      );
      process.exit(SIGNAL_EXIT[sig] ?? 1);
    }
    requestStop(sig);
    console.error(`\nbench: ${sig}: stopping after this step, with a checkpoint (${sig} again stops at once)`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

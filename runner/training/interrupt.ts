/**
 * Stopping a run on a signal (Ctrl-C, SIGTERM) without losing it: the command's signal handler
 * asks for a stop (`requestStop`); the training loop finishes its step, writes a checkpoint and
 * ends as stopped (runner/pretrain.ts RunStopped, naming the signal, the iteration and how to
 * resume). `trainingActive` tells the handler whether a loop is there to stop gracefully; when
 * none is, the command exits at once (run locks are released on exit, core/run-lock.ts).
 */
import type { TrainCallback } from './loop.ts';

let requested: string | undefined;
let active = 0;

export function requestStop(signal: string): void {
  requested ??= signal;
}

/** The signal a stop was asked for by, if any. */
export function stopRequestedBy(): string | undefined {
  return requested;
}

/** Forgets a stop request (tests). */
export function clearStopRequest(): void {
  requested = undefined;
}

export function trainingActive(): boolean {
  return active > 0;
}

/** Marks a training loop as running while `fn` runs. */
export async function whileTraining<T>(fn: () => Promise<T>): Promise<T> {
  active++;
  try {
    return await fn();
  } finally {
    active--;
  }
}

/**
 * Stops the loop after the step during which a stop was asked for (the checkpoint callback after
 * it writes one). Each step first yields to the event loop once: the loop's own awaits resolve at
 * once, and a signal's handler only runs when the event loop polls.
 */
export const stopOnRequest: TrainCallback = {
  async onStep(e, s) {
    await new Promise((r) => setImmediate(r));
    if (requested !== undefined && e.next < e.totalIters) s.stop = true;
  },
};

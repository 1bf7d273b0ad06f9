/**
 * A multiply-add counter. Every matrix product in the engine's ops reports its m*k*n here, so a
 * real forward pass can be measured (`traceMacs`) and checked against the analytic counts in
 * `backbones/*\/count.ts`. Costs nothing when no trace is active.
 */
let counter: { macs: number } | undefined;

export function recordMacs(macs: number): void {
  if (counter) counter.macs += macs;
}

/** Run `fn` and return the multiply-adds its matrix products performed. */
export function traceMacs(fn: () => void): number {
  const prev = counter;
  counter = { macs: 0 };
  try {
    fn();
    return counter.macs;
  } finally {
    counter = prev;
  }
}

/**
 * Throughput of the streaming pre-training pipeline alone (input/): ImageFolder files
 * decoded and cropped to two views by the worker pool, batch after batch, with no training step
 * to overlap. Prints figures; asserts nothing.
 */
import os from 'node:os';
import { scanImageFolder } from '../data/image-folder.ts';
import { StreamingTwoViewLoader, type OnCorrupt } from '../input/stream-loader.ts';

export interface DataPerfResult {
  files: number;
  classes: number;
  workers: number;
  batch: number;
  batches: number;
  imagesPerSec: number;
  /** Bytes of the two views of one batch, as held in memory. */
  batchBytes: number;
  skipped: string[];
}

export async function measureDataPipeline(
  root: string,
  o: { batch: number; viewSize: number; workers?: number; batches: number; cropMin?: number; onCorrupt?: OnCorrupt },
): Promise<DataPerfResult> {
  const index = scanImageFolder(root);
  const workers = o.workers ?? os.availableParallelism();
  const loader = new StreamingTwoViewLoader(index, {
    batchSize: o.batch,
    seed: 0,
    outSize: o.viewSize,
    cropMin: o.cropMin ?? 0.08,
    workers,
    onCorrupt: o.onCorrupt ?? 'stop',
  });
  try {
    const steps = Math.min(o.batches + 1, loader.stepsPerEpoch);
    await loader.batchAt(0, 0); // warm-up: worker start-up, first file reads
    const t0 = performance.now();
    for (let s = 1; s < steps; s++) await loader.batchAt(0, s);
    const dt = (performance.now() - t0) / 1000;
    const batches = steps - 1;
    return {
      files: index.files.length,
      classes: index.classNames.length,
      workers,
      batch: o.batch,
      batches,
      imagesPerSec: batches > 0 ? (batches * o.batch) / dt : Number.NaN,
      batchBytes: 2 * o.batch * o.viewSize * o.viewSize * 3,
      skipped: loader.skippedFiles(),
    };
  } finally {
    await loader.close();
  }
}

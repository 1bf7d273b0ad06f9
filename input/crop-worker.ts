/**
 * The image-decode worker thread of the streaming pipeline (input/stream-loader.ts, through
 * piscina): one task is one image's two crops (input/two-crops.ts). libvips runs one thread
 * per worker; the pool's size is the pipeline's parallelism. The two views (2 x 150 KB at 224 px)
 * are copied back to the main thread, a small cost beside the decode.
 */
import sharp from 'sharp';
import { twoCrops, type TwoCropJob, type TwoCropResult } from './two-crops.ts';

sharp.concurrency(1);
sharp.cache(false);

export default function run(job: TwoCropJob): Promise<TwoCropResult> {
  return twoCrops(sharp as never, job);
}

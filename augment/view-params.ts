/** What is drawn for one image of one augmented view (augment/policy.ts draws it; its tensor ops and the native kernel apply it). */
import type { JitterParams } from './color-jitter.ts';
import type { SampledCropBox } from './random-resized-crop.ts';

export interface ImageAugParams {
  crop: SampledCropBox;
  jitter: JitterParams;
  grayscale: boolean;
  blur: boolean;
  sigma: number;
  solarize: boolean;
  flip: boolean;
}

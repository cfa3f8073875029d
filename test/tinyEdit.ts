/** The tiny but complete edit the job, training and benchmark tests share (Text2LIVE's defaults otherwise). */
import { DEFAULT_EDIT_CONFIG, validateConfig, type EditConfig } from '../src/edit/config';

/** The sample photo the prompts below describe. */
export const TINY_EDIT_PHOTO = new URL('../../shared/data/images/dog-on-bench.png', import.meta.url).pathname;

/**
 * A 40 px working image, a 2-scale generator with 8/8/4 channels, 2 CLIP views per term and the golden-dog prompts
 * (bootstrap off unless an override sets it; relevancy from the last block), with `overrides` on top.
 */
export function tinyEditConfig(overrides: Partial<EditConfig> = {}): EditConfig {
  return validateConfig({
    ...DEFAULT_EDIT_CONFIG,
    resizeInput: 40,
    numScales: 2,
    skipN33d: 8,
    skipN33u: 8,
    skipN11: 4,
    nAug: 2,
    screenText: 'golden dog',
    compText: 'golden dog',
    srcText: 'dog',
    // The tiny CLIP has 2 attention blocks: 0 selects its last one, as the reference's 10 does for ViT-B/32's 12.
    relevancyNumLayers: 0,
    ...overrides,
  });
}

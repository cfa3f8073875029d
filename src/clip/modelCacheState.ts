/**
 * Whether a model's files are in this browser's Cache Storage, without downloading anything: what the page's
 * model panel says before a load ("downloaded before" or "the first Start downloads it"). Cache Storage belongs to
 * the model layer; the page asks here and never opens a cache itself.
 */
import { modelFileList, type Precision } from './modelFiles';
import { MODEL_CACHE_NAME, ModelManager } from './modelManager';

export interface ModelCacheQuery {
  modelId: string;
  /** The self-hosted base the files may have come from (`/models/`); the Hub's URLs are checked too. */
  baseUrl: string;
  precision: Precision;
}

/** 'cached' when every file is there, else 'not-cached'; null where there is no Cache Storage (private mode). */
export async function modelCacheState(q: ModelCacheQuery): Promise<'cached' | 'not-cached' | null> {
  if (typeof caches === 'undefined') return null;
  try {
    const manager = new ModelManager({
      sources: [{ type: 'self-hosted', baseUrl: q.baseUrl }, { type: 'hub' }],
      cache: null,
    });
    const cache = await caches.open(MODEL_CACHE_NAME);
    for (const spec of modelFileList(q.precision)) {
      let found = false;
      for (const { url } of manager.urlsFor(q.modelId, spec)) {
        if (url && (await cache.match(url))) {
          found = true;
          break;
        }
      }
      if (!found) return 'not-cached';
    }
    return 'cached';
  } catch {
    return null;
  }
}

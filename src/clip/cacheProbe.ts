/** What the browser holds of each model file, complete or partial, read without loading any bytes. */

import { cachedSize, type ByteCache } from './byteCache';
import type { ModelFileRole, ModelFileSpec } from './modelFiles';
import type { PartialStore } from './partialStore';

export interface CachedFileStatus {
  path: string;
  role: ModelFileRole;
  /** `cached`: complete (a load makes no request); `partial`: some bytes kept, a load resumes; `missing`. */
  state: 'cached' | 'partial' | 'missing';
  /** Bytes held (the whole file when cached). */
  bytes: number;
  /** The whole file's size when known (cached, or stated when the partial file was started). */
  total: number | null;
  /** The URL (cache key) the bytes are held under. */
  url: string | null;
}

export async function probeFile(
  spec: ModelFileSpec,
  urls: readonly (string | null)[],
  cache: ByteCache | null,
  partial: PartialStore | null,
): Promise<CachedFileStatus> {
  const known = urls.filter((u): u is string => u !== null);
  if (cache) {
    for (const url of known) {
      const size = await cachedSize(cache, url);
      if (size !== undefined)
        return { path: spec.path, role: spec.role, state: 'cached', bytes: size, total: size, url };
    }
  }
  if (partial) {
    for (const url of known) {
      const held = await partial.size(url).catch(() => undefined);
      if (held && held.bytes > 0) {
        return { path: spec.path, role: spec.role, state: 'partial', bytes: held.bytes, total: held.total, url };
      }
    }
  }
  return { path: spec.path, role: spec.role, state: 'missing', bytes: 0, total: null, url: null };
}

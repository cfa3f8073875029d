/**
 * Room for the model: persistent storage and the quota check before a download (browser: `navigator.storage`; Node:
 * the free space of the cache folder's disk, given as the same small interface so one check serves both).
 */

import { formatBytes } from '../gpu/formatBytes';
import { ModelLoadError } from './modelLoadError';

/** The part of `StorageManager` the check uses; `estimate()` is in windows and workers, `persist()` in windows only. */
export interface StorageEstimator {
  estimate(): Promise<{ quota?: number; usage?: number }>;
  persist?(): Promise<boolean>;
  persisted?(): Promise<boolean>;
}

/** The browser's `navigator.storage` when it has `estimate()`, else null (Node, old browsers). */
export function browserStorage(): StorageEstimator | null {
  const storage = (globalThis as { navigator?: { storage?: Partial<StorageEstimator> } }).navigator?.storage;
  return storage && typeof storage.estimate === 'function' ? (storage as StorageEstimator) : null;
}

/** Free bytes (quota − usage), or null when the storage cannot tell. */
export async function freeBytes(storage: StorageEstimator | null): Promise<number | null> {
  if (!storage) return null;
  try {
    const { quota, usage } = await storage.estimate();
    return typeof quota === 'number' && Number.isFinite(quota) ? Math.max(0, quota - (usage ?? 0)) : null;
  } catch {
    return null; // estimate() may reject (opaque origins); the download then goes ahead unchecked
  }
}

export class StorageQuotaError extends ModelLoadError {
  readonly neededBytes: number;
  readonly availableBytes: number;

  constructor(file: string, neededBytes: number, availableBytes: number, where: string) {
    super(
      'no-space',
      file,
      `Not enough space for the CLIP model: needs ${formatBytes(neededBytes, 'si')}, ${formatBytes(availableBytes, 'si')} free ` +
        `(${where}). Free some space, or load the model files from disk.`,
    );
    this.name = 'StorageQuotaError';
    this.neededBytes = neededBytes;
    this.availableBytes = availableBytes;
  }
}

/**
 * Throws `StorageQuotaError` when `neededBytes` do not fit in what `storage` reports free. Unknown free space passes
 * (the write itself will fail later if it must).
 */
export async function ensureSpace(
  storage: StorageEstimator | null,
  neededBytes: number,
  file: string,
  where = 'browser storage quota',
): Promise<number | null> {
  const available = await freeBytes(storage);
  if (available !== null && neededBytes > available) throw new StorageQuotaError(file, neededBytes, available, where);
  return available;
}

export type PersistResult = 'persisted' | 'denied' | 'unsupported';

/**
 * Asks the browser to keep this origin's storage under pressure (`navigator.storage.persist()`), so a 600 MB model
 * is not evicted silently. Call it from the page (it is not exposed in workers), ideally after a user gesture.
 */
export async function requestPersistentStorage(
  storage: StorageEstimator | null = browserStorage(),
): Promise<PersistResult> {
  if (!storage?.persist) return 'unsupported';
  try {
    if (storage.persisted && (await storage.persisted())) return 'persisted';
    return (await storage.persist()) ? 'persisted' : 'denied';
  } catch {
    return 'unsupported';
  }
}

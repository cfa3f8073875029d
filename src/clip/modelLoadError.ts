/**
 * The one error type of model loading (browser manager, Node fetcher, directory loader), so the worker and the CLI
 * can tell a missing file from a corrupt one, a full disk or a cancel by `kind` alone.
 */

export type ModelLoadErrorKind =
  | 'not-found'
  | 'offline'
  | 'truncated'
  | 'wrong-file'
  | 'http'
  | 'cancelled'
  /** The bytes received are not as many as the server said (Content-Length / Content-Range / X-Linked-Size). */
  | 'size-mismatch'
  /** The bytes received do not hash to the SHA-256 the Hub states (X-Linked-Etag). */
  | 'hash-mismatch'
  /** The missing files do not fit in the storage quota or on the disk (`StorageQuotaError`). */
  | 'no-space';

/** Where a load attempt went: a network source, picked files, or a folder on disk. */
export type ModelAttemptSource = 'self-hosted' | 'hub' | 'files' | 'directory';

export interface ModelLoadAttempt {
  source: ModelAttemptSource;
  /** URL, picked-file path or directory path. */
  location: string;
  kind: ModelLoadErrorKind;
  message: string;
  status?: number;
}

export class ModelLoadError extends Error {
  readonly kind: ModelLoadErrorKind;
  /** The file's path in the model folder. */
  readonly file: string;
  /** The URL (or path) of the failing attempt; for the final error, of the last attempt. */
  readonly url?: string;
  readonly status?: number;
  /** Every source tried for this file, in order (one entry for a single-attempt error). */
  readonly attempts: readonly ModelLoadAttempt[];

  constructor(
    kind: ModelLoadErrorKind,
    file: string,
    message: string,
    details: { url?: string; status?: number; attempts?: readonly ModelLoadAttempt[]; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ModelLoadError';
    this.kind = kind;
    this.file = file;
    this.url = details.url;
    this.status = details.status;
    this.attempts = details.attempts ?? [];
  }
}

export function isAbortError(error: unknown, signal?: AbortSignal): boolean {
  return signal?.aborted === true || (error instanceof Error && error.name === 'AbortError');
}

export function cancelledError(file: string, location: string, cause?: unknown, detail = ''): ModelLoadError {
  return new ModelLoadError('cancelled', file, `Loading ${file} was cancelled (${location})${detail}.`, {
    url: location,
    cause,
  });
}

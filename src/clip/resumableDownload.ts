/**
 * One file over HTTP, resumable and verified; shared by the browser's `ModelManager` (bytes in memory, partial bytes
 * in Cache Storage) and the Node fetcher (a `<file>.part` on disk). Where the bytes go is a `DownloadSink`.
 *
 * - Resume: bytes already held are continued with `Range: bytes=N-`. A 206 whose Content-Range starts at N and
 *   names the same whole size (and ETag / stated SHA-256) continues them; a 200 means the server ignored the range
 *   and the file starts over; a 416 with `bytes *\/N` means the held bytes are already the whole file.
 * - A connection that drops mid-body is retried from the received offset (`retries` times, backing off), within
 *   the same call; when retries run out, or on cancel, the sink keeps what arrived for the next call.
 * - Verify: the byte count against X-Linked-Size / Content-Range / Content-Length, and the SHA-256 where the server
 *   states one (`fileIntegrity.ts`). A mismatch discards the bytes and throws `size-mismatch` / `hash-mismatch`.
 */

import { mergeIntegrity, statedIntegrity, unquoteEtag, type StatedIntegrity } from './fileIntegrity';
import { byteCountHeader, parseContentRange, rangeFrom } from './httpRange';
import { formatBytes } from '../gpu/formatBytes';
import { ModelLoadError, cancelledError, isAbortError } from './modelLoadError';
import type { LoadedFrom, ModelProgressEvent } from './modelProgress';

/** What a download was fetched under; `total` is null when the server did not say (then nothing can be resumed). */
export interface DownloadMeta {
  total: number | null;
  etag: string | null;
  sha256: string | null;
}

/** Where the bytes of one download go. */
export interface DownloadSink {
  /** What an earlier attempt left (read when the sink was opened): its byte count and what it was fetched under. */
  held(): { length: number; meta: DownloadMeta & { total: number } } | null;
  /** Bytes written, including any held bytes being continued. */
  readonly length: number;
  /** Starts writing at `offset`: 0 drops anything held; otherwise the first `offset` bytes are kept and continued. */
  begin(meta: DownloadMeta, offset: number): Promise<void>;
  write(chunk: Uint8Array): Promise<void>;
  /** Keeps the bytes received so far for a later attempt (after a failure or a cancel). */
  keep(): Promise<void>;
  /** SHA-256 (hex) of the bytes written; null when it cannot be computed here. */
  sha256(): Promise<string | null>;
  /** Drops every byte, held or written (bad hash, changed file, wrong content). */
  discard(): Promise<void>;
}

export interface ResumableDownloadOptions {
  url: string;
  /** The file's path in the model folder, for messages and progress events. */
  file: string;
  source: LoadedFrom;
  sink: DownloadSink;
  fetch: typeof fetch;
  signal?: AbortSignal;
  onProgress?: (event: ModelProgressEvent) => void;
  /** Automatic retries after a dropped connection, each from the received offset. Default 3. */
  retries?: number;
  /** Wait before the first retry, doubled for each next one. Default 500 ms. */
  retryDelayMs?: number;
  /**
   * Follow redirects by hand to read the Hub's `X-Linked-Size` / `X-Linked-Etag` on them (Node). Browsers hide
   * redirects from `fetch`, so there it stays off (an opaque redirect falls back to `follow`).
   */
  readRedirects?: boolean;
  /** Extra request headers (Node sends `Accept-Encoding: identity` so sizes and ranges count real bytes). */
  headers?: Record<string, string>;
  /** Called once the size is known with the bytes still to come; throws (`StorageQuotaError`) when they do not fit. */
  checkSpace?: (remainingBytes: number) => Promise<void>;
  /** What the file should be, for the message when an HTML page comes instead ("an ONNX model"). */
  expected?: string;
}

export interface DownloadOutcome {
  size: number;
  /** The stated SHA-256 the bytes were checked against; null when none was stated (checked by size only). */
  sha256: string | null;
  /** Bytes continued from an earlier attempt (0 for a fresh download). */
  resumedFrom: number;
}

const PROGRESS_STEP = 256 * 1024;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 8;

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function errorDetail(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? error.cause.message : error.message;
}

async function drop(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

/** A network failure before any response: `offline`. */
function offline(file: string, url: string, error: unknown): ModelLoadError {
  const detail = errorDetail(error);
  return new ModelLoadError(
    'offline',
    file,
    `${file}: could not reach ${url} (network error${detail ? `: ${detail}` : ''}; offline?).`,
    { url, cause: error },
  );
}

/** A failure to store bytes (a full disk, a closed file): not the network's fault, so never retried. */
class SinkWriteError extends Error {
  constructor(readonly original: unknown) {
    super(errorDetail(original));
  }
}

/** Copies a body into the sink with byte progress. Read errors are rethrown as they are (the caller decides). */
async function pump(
  body: ReadableStream<Uint8Array>,
  sink: DownloadSink,
  onLoaded: (loaded: number) => void,
): Promise<void> {
  const reader = body.getReader();
  let reported = sink.length;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      try {
        await sink.write(value);
      } catch (error) {
        throw new SinkWriteError(error);
      }
      if (sink.length - reported >= PROGRESS_STEP) {
        reported = sink.length;
        onLoaded(sink.length);
      }
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    throw error;
  } finally {
    reader.releaseLock();
  }
  if (reported !== sink.length) onLoaded(sink.length);
}

export async function downloadResumable(options: ResumableDownloadOptions): Promise<DownloadOutcome> {
  const { url, file, source, sink, signal, onProgress } = options;
  const fetchFn = options.fetch;
  const retries = options.retries ?? 3;
  let delay = options.retryDelayMs ?? 500;

  const emit = (event: Omit<ModelProgressEvent, 'file' | 'source' | 'url'>) =>
    onProgress?.({ file, source, url, ...event });
  const cancelled = async (cause: unknown): Promise<never> => {
    await sink.keep().catch(() => undefined);
    throw cancelledError(
      file,
      url,
      cause,
      sink.length > 0 ? `; ${formatBytes(sink.length, 'si')} kept, a new attempt resumes there` : '',
    );
  };

  /** GET (with a range past the held bytes), following redirects by hand when asked to read their headers. */
  const request = async (offset: number): Promise<{ response: Response; stated: StatedIntegrity }> => {
    const headers: Record<string, string> = { ...options.headers };
    if (offset > 0) headers.Range = rangeFrom(offset);
    // `no-store`: the copy that matters is ours (Cache Storage or disk); the HTTP cache would hold a second one.
    const init: RequestInit = { signal, cache: 'no-store', headers };
    let stated: StatedIntegrity = { linkedSize: null, sha256: null };
    let current = url;
    for (let hop = 0; ; hop++) {
      const manual = options.readRedirects === true && hop < MAX_REDIRECTS;
      let response = await fetchFn(current, { ...init, redirect: manual ? 'manual' : 'follow' });
      if (response.type === 'opaqueredirect') response = await fetchFn(current, { ...init, redirect: 'follow' });
      stated = mergeIntegrity(stated, statedIntegrity(response.headers));
      const location = response.headers.get('location');
      if (manual && REDIRECTS.has(response.status) && location) {
        await drop(response);
        current = new URL(location, current).href;
        continue;
      }
      return { response, stated };
    }
  };

  const initial = sink.held();
  let resumable: { length: number; meta: DownloadMeta & { total: number } } | null = initial;
  let retry = 0;
  let receivedHere = false; // only a connection that worked and then dropped is worth retrying
  let restarts = 0;
  let spaceChecked = false;
  let meta: DownloadMeta | null = null;
  let stated: StatedIntegrity = { linkedSize: null, sha256: null };
  let resumedFrom = 0;
  let expectedSha256: string | null = null;

  const startOver = async (response: Response | null, why: string): Promise<void> => {
    if (response) await drop(response);
    await sink.discard();
    resumable = null;
    if (++restarts > 2) {
      throw new ModelLoadError('http', file, `${file}: ${url} keeps answering ranges that do not fit (${why}).`, {
        url,
      });
    }
  };

  for (;;) {
    if (signal?.aborted) return cancelled(signal.reason);
    const offset = resumable ? resumable.length : 0;
    let response: Response;
    try {
      ({ response, stated } = await request(offset));
    } catch (error) {
      if (isAbortError(error, signal)) return cancelled(error);
      if (receivedHere && retry < retries) {
        retry++;
        await sleep(delay, signal).catch(cancelled);
        delay *= 2;
        continue;
      }
      await sink.keep().catch(() => undefined);
      throw offline(file, url, error);
    }

    if (response.status === 416 && resumable) {
      const range = parseContentRange(response.headers.get('content-range'));
      if (range?.size === resumable.length && resumable.meta.total === resumable.length) {
        await drop(response); // everything is held already: verify it below
        meta = resumable.meta;
        expectedSha256 = stated.sha256 ?? meta.sha256;
        await sink.begin(meta, resumable.length);
        resumedFrom = resumable.length;
        break;
      }
      await startOver(response, `416 for a range from ${offset}`);
      continue;
    }
    if (!response.ok) {
      await drop(response);
      await sink.keep().catch(() => undefined);
      const notFound = response.status === 404 || response.status === 410;
      throw new ModelLoadError(
        notFound ? 'not-found' : 'http',
        file,
        notFound
          ? `${file}: not found at ${url} (HTTP ${response.status}).`
          : `${file}: ${url} answered HTTP ${response.status} ${response.statusText}.`.replace(' .', '.'),
        { url, status: response.status },
      );
    }
    const contentType = response.headers.get('content-type') ?? '';
    if (/text\/html/i.test(contentType)) {
      await drop(response);
      await sink.keep().catch(() => undefined);
      throw new ModelLoadError(
        'wrong-file',
        file,
        `${file} from ${url} is not ${options.expected ?? 'the model file'}: the server sent an HTML page ` +
          `(Content-Type ${contentType}; a missing file answered by a web page?).`,
        { url },
      );
    }
    // Content-Length counts encoded bytes; with a (visible) content encoding the decoded size is unknown.
    const encoding = (response.headers.get('content-encoding') ?? 'identity').toLowerCase();
    const length = encoding === 'identity' ? byteCountHeader(response.headers.get('content-length')) : null;
    const etag = unquoteEtag(response.headers.get('etag'));
    let start = 0;
    let total: number | null = length;
    if (response.status === 206) {
      const range = parseContentRange(response.headers.get('content-range'));
      // Content-Range is hidden from cross-origin pages unless exposed; then Content-Length must make up the rest.
      total = range?.size ?? (length !== null ? offset + length : null);
      const startsAtOffset = range ? range.start === offset : offset > 0;
      const held = resumable?.meta;
      const sameFile =
        held !== undefined &&
        total === held.total &&
        !(held.etag && etag && held.etag !== etag) &&
        !(held.sha256 && stated.sha256 && held.sha256 !== stated.sha256);
      if (!resumable || !startsAtOffset || !sameFile) {
        await startOver(response, `206 ${response.headers.get('content-range') ?? ''} for a range from ${offset}`);
        continue;
      }
      start = offset;
    }
    // A continued file keeps the facts its first bytes were stored under, so its stored pieces stay one chain.
    meta = start > 0 && resumable ? { ...resumable.meta } : { total, etag, sha256: stated.sha256 };
    expectedSha256 = stated.sha256 ?? meta.sha256;
    const whole = stated.linkedSize ?? total;
    if (options.checkSpace && whole !== null && !spaceChecked) {
      spaceChecked = true;
      try {
        await options.checkSpace(Math.max(0, whole - start));
      } catch (error) {
        await drop(response);
        throw error;
      }
    }
    await sink.begin(meta, start);
    if (start > 0 && resumedFrom === 0 && retry === 0) resumedFrom = start;
    emit({
      loaded: start,
      total,
      phase: 'downloading',
      ...(start > 0 ? { resumedFrom: start } : {}),
      ...(retry > 0 ? { retry } : {}),
    });

    let broke: unknown = null;
    try {
      if (response.body) {
        await pump(response.body, sink, (loaded) => emit({ loaded, total, phase: 'downloading' }));
      } else {
        await sink.write(new Uint8Array(await response.arrayBuffer()));
        emit({ loaded: sink.length, total, phase: 'downloading' });
      }
    } catch (error) {
      if (error instanceof SinkWriteError) {
        await sink.keep().catch(() => undefined);
        throw error.original;
      }
      if (isAbortError(error, signal)) return cancelled(error);
      broke = error;
    }
    if (signal?.aborted) return cancelled(signal.reason);
    if (sink.length > start) receivedHere = true;
    if (total !== null && sink.length > total) {
      await sink.discard();
      throw new ModelLoadError(
        'size-mismatch',
        file,
        `${file} from ${url} is longer than the server said: more than ${total} B arrived.`,
        { url },
      );
    }
    if (broke === null && total !== null && sink.length < total) broke = new Error('the body ended early');
    if (broke !== null) {
      resumable = total !== null && sink.length > 0 ? { length: sink.length, meta: { ...meta, total } } : null;
      if (retry < retries) {
        retry++;
        await sleep(delay, signal).catch(cancelled);
        delay *= 2;
        continue;
      }
      await sink.keep().catch(() => undefined);
      throw new ModelLoadError(
        'truncated',
        file,
        `Download of ${file} from ${url} broke off after ${formatBytes(sink.length, 'si')}` +
          (total !== null ? ` (${sink.length} B) of ${formatBytes(total, 'si')} (${total} B)` : '') +
          ` (${errorDetail(broke)}` +
          (retries > 0 ? `; ${retries} ${retries === 1 ? 'retry' : 'retries'} failed too` : '') +
          `).` +
          (total !== null && sink.length > 0 ? ' The received bytes are kept; a new attempt resumes there.' : ''),
        { url, cause: broke },
      );
    }
    break;
  }

  const expectedSize = stated.linkedSize ?? meta.total;
  if (expectedSize !== null && sink.length !== expectedSize) {
    const got = sink.length;
    await sink.discard();
    throw new ModelLoadError(
      'size-mismatch',
      file,
      `${file} from ${url} has the wrong size: ${got} B arrived, the server states ${expectedSize} B ` +
        `(${formatBytes(expectedSize, 'si')}). The bytes were discarded.`,
      { url },
    );
  }
  if (expectedSha256) {
    emit({ loaded: sink.length, total: sink.length, phase: 'verifying' });
    const actual = await sink.sha256();
    if (actual !== null && actual !== expectedSha256) {
      await sink.discard();
      throw new ModelLoadError(
        'hash-mismatch',
        file,
        `${file} from ${url} is corrupt: its SHA-256 is ${actual}, the server states ${expectedSha256}. ` +
          'The bytes were discarded; try again.',
        { url },
      );
    }
    return { size: sink.length, sha256: actual === null ? null : expectedSha256, resumedFrom };
  }
  return { size: sink.length, sha256: null, resumedFrom };
}

/**
 * A download into memory (the browser's way: the worker needs the bytes anyway), one preallocated buffer when the
 * size is known, checkpointed into a `PartialStore` as it grows so a cancel, a failure or a reload can resume.
 */

import { sha256Hex } from './fileIntegrity';
import type { PartialStore } from './partialStore';
import type { DownloadMeta, DownloadSink } from './resumableDownload';

export const DEFAULT_CHECKPOINT_BYTES = 16 * 1024 * 1024;

export class MemorySink implements DownloadSink {
  private buffer: Uint8Array = new Uint8Array(0);
  private meta: DownloadMeta | null = null;
  private heldAtOpen: ReturnType<DownloadSink['held']> = null;
  /** Bytes already in the store; the next checkpoint appends from here. */
  private saved = 0;
  private pending: Promise<void> = Promise.resolve();
  private storeBroken = false;
  /** Whether the store may hold bytes of this key (loaded at open, or checkpointed since). */
  private stored = false;
  length = 0;

  private constructor(
    private readonly store: PartialStore | null,
    private readonly key: string,
    private readonly checkpointBytes: number,
  ) {}

  /** A sink for `key`, holding whatever the store kept of it. */
  static async open(
    store: PartialStore | null,
    key: string,
    checkpointBytes: number = DEFAULT_CHECKPOINT_BYTES,
  ): Promise<MemorySink> {
    const sink = new MemorySink(store, key, checkpointBytes);
    const partial = await store?.load(key).catch(() => undefined);
    if (partial && partial.length > 0 && partial.length <= partial.meta.total) {
      sink.buffer = partial.buffer;
      sink.length = sink.saved = partial.length;
      sink.meta = partial.meta;
      sink.heldAtOpen = { length: partial.length, meta: partial.meta };
      sink.stored = true;
    }
    return sink;
  }

  held() {
    return this.heldAtOpen;
  }

  async begin(meta: DownloadMeta, offset: number): Promise<void> {
    if (offset === 0) {
      await this.dropStored();
      this.buffer = new Uint8Array(meta.total ?? 0);
      this.length = 0;
    } else if (meta.total !== null && this.buffer.byteLength < meta.total) {
      this.grow(meta.total);
    }
    this.heldAtOpen = null;
    this.meta = meta;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.length + chunk.byteLength > this.buffer.byteLength) {
      this.grow(Math.max(this.length + chunk.byteLength, this.buffer.byteLength * 2, 64 * 1024));
    }
    this.buffer.set(chunk, this.length);
    this.length += chunk.byteLength;
    if (this.length - this.saved >= this.checkpointBytes) this.checkpoint();
  }

  async keep(): Promise<void> {
    if (this.length > this.saved) this.checkpoint();
    await this.pending;
  }

  async sha256(): Promise<string | null> {
    await this.pending;
    return sha256Hex(this.bytes());
  }

  async discard(): Promise<void> {
    await this.dropStored();
    this.buffer = new Uint8Array(0);
    this.length = 0;
    this.meta = null;
    this.heldAtOpen = null;
  }

  /** The whole file: the stored partial copy is dropped (the caller caches the complete file). */
  async finish(): Promise<Uint8Array> {
    await this.dropStored();
    return this.bytes();
  }

  bytes(): Uint8Array {
    return this.length === this.buffer.byteLength ? this.buffer : this.buffer.subarray(0, this.length);
  }

  private grow(size: number): void {
    const bigger = new Uint8Array(size);
    bigger.set(this.buffer.subarray(0, this.length));
    this.buffer = bigger;
  }

  /** Appends the bytes since the last checkpoint to the store, in order, without holding up the download. */
  private checkpoint(): void {
    const meta = this.meta;
    const store = this.store;
    if (!store || this.storeBroken || meta?.total == null) return;
    const total = meta.total;
    const from = this.saved;
    const bytes = this.buffer.subarray(from, this.length); // never rewritten: writes only go past `length`
    this.saved = this.length;
    this.stored = true;
    this.pending = this.pending
      .then(() => store.append(this.key, { total, etag: meta.etag, sha256: meta.sha256 }, from, bytes))
      .catch((error: unknown) => {
        this.storeBroken = true; // quota or a closed cache: the download goes on, only resuming is lost
        console.warn(`Could not keep the partial download of ${this.key}:`, error);
      });
  }

  private async dropStored(): Promise<void> {
    await this.pending;
    this.saved = 0;
    if (!this.stored) return;
    this.stored = false;
    await this.store?.delete(this.key).catch(() => undefined);
  }
}

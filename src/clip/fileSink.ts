/**
 * Node only: a download into `<file>.part` beside its final path, with what it was fetched under in
 * `<file>.part.json`, so a killed or failed run resumes where it stopped. The final name appears only by a rename
 * after every check passed, so a file under its own name is always complete.
 */

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DownloadMeta, DownloadSink } from './resumableDownload';

interface PartMeta extends DownloadMeta {
  url: string;
}

export class FileSink implements DownloadSink {
  private handle: FileHandle | null = null;
  private heldAtOpen: ReturnType<DownloadSink['held']> = null;
  length = 0;

  private constructor(
    readonly path: string,
    private readonly url: string,
  ) {}

  get partPath(): string {
    return `${this.path}.part`;
  }

  private get metaPath(): string {
    return `${this.path}.part.json`;
  }

  /** A sink for `path`, holding what an earlier run left in `<path>.part` when it came from the same URL. */
  static async open(path: string, url: string): Promise<FileSink> {
    const sink = new FileSink(path, url);
    try {
      const meta = JSON.parse(await readFile(sink.metaPath, 'utf8')) as Partial<PartMeta>;
      const size = (await stat(sink.partPath)).size;
      const total = meta.total;
      if (meta.url === url && typeof total === 'number' && size > 0 && size <= total) {
        sink.length = size;
        sink.heldAtOpen = {
          length: size,
          meta: { total, etag: meta.etag ?? null, sha256: meta.sha256 ?? null },
        };
      }
    } catch {
      // nothing held (or an unreadable leftover: begin() overwrites it)
    }
    return sink;
  }

  held() {
    return this.heldAtOpen;
  }

  async begin(meta: DownloadMeta, offset: number): Promise<void> {
    await this.close();
    await mkdir(dirname(this.path), { recursive: true });
    if (offset === 0) {
      await writeFile(this.partPath, new Uint8Array(0));
      const record: PartMeta = { url: this.url, ...meta };
      await writeFile(this.metaPath, JSON.stringify(record));
    } else {
      await truncate(this.partPath, offset); // what is held past `offset` (none normally) is not trusted
    }
    this.length = offset;
    this.heldAtOpen = null;
    this.handle = await open(this.partPath, 'a');
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (!this.handle) throw new Error(`FileSink: write before begin (${this.partPath})`);
    await this.handle.write(chunk);
    this.length += chunk.byteLength;
  }

  async keep(): Promise<void> {
    await this.close(); // every written byte is in the .part file already
  }

  async sha256(): Promise<string> {
    await this.close();
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(this.partPath)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }

  async discard(): Promise<void> {
    await this.close();
    await rm(this.partPath, { force: true });
    await rm(this.metaPath, { force: true });
    this.length = 0;
    this.heldAtOpen = null;
  }

  /** Gives the checked file its own name. */
  async finish(): Promise<void> {
    await this.close();
    await rename(this.partPath, this.path);
    await rm(this.metaPath, { force: true });
  }

  private async close(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await handle?.close();
  }
}

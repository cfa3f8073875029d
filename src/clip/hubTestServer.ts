/**
 * Test helper (Node only, imported by tests): a local HTTP server in the Hugging Face Hub's layout, serving model
 * folders at `/<modelId>/resolve/main/<file>`, with what the real Hub does that downloads depend on:
 * - LFS files (`*.onnx`) answer with a 302 to `/cdn/<sha256>` carrying `X-Linked-Size`, `X-Linked-Etag: "<sha256>"`
 *   and `ETag: "<sha256>"`; the CDN answer has an ETag of its own. `redirectLfs: false` answers them directly with
 *   the same headers (a mirror; what a browser's fetch can read).
 * - Small files answer directly with the git blob id as their ETag (40 hex digits: not a hash of the content).
 * - `Range: bytes=N-` gives 206 with Content-Range, or 416 with `bytes *\/size` past the end.
 * Faults for a file are set per test: dropping the connection mid-body, stalling, a wrong hash or size, ignoring
 * ranges, no Content-Length.
 */

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export type HubFault =
  /** Send `after` bytes of the body, then destroy the connection (once, or every time with `times: Infinity`). */
  | { kind: 'drop'; after: number; times?: number }
  /** Send `after` bytes, then nothing (the client has to cancel). */
  | { kind: 'stall'; after: number }
  | { kind: 'bad-hash' }
  | { kind: 'bad-size' }
  /** Answer every request with the whole file (200), ignoring Range. */
  | { kind: 'no-range' }
  /** A different file under the same name from now on (ETag and bytes change). */
  | { kind: 'changed' };

export interface HubRequest {
  method: string;
  path: string;
  range: string | null;
}

interface ServedFile {
  bytes: Uint8Array;
  sha256: string;
  gitSha1: string;
}

const LFS = /\.onnx$/;

function describe(bytes: Uint8Array): ServedFile {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const gitSha1 = createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');
  return { bytes, sha256, gitSha1 };
}

/** The same file with its second half inverted: still starts like the original (an ONNX header), other bytes. */
function changedCopy(file: ServedFile): ServedFile {
  const half = file.bytes.byteLength >> 1;
  return describe(file.bytes.map((b, i) => (i < half ? b : b ^ 0xff)));
}

export class HubTestServer {
  readonly requests: HubRequest[] = [];
  /** Faults by `<modelId>/<file>`. */
  readonly faults = new Map<string, HubFault>();
  redirectLfs = true;
  origin = '';
  private readonly server: http.Server;
  private readonly models = new Map<string, Map<string, ServedFile>>();
  private readonly bySha = new Map<string, ServedFile>();

  constructor() {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
  }

  /** Serves the given files of a folder on disk under `modelId`. */
  addModel(modelId: string, folder: string, paths: readonly string[]): this {
    const files = new Map<string, ServedFile>();
    for (const path of paths) {
      const file = describe(new Uint8Array(readFileSync(join(folder, ...path.split('/')))));
      files.set(path, file);
      this.bySha.set(file.sha256, file);
    }
    this.models.set(modelId, files);
    return this;
  }

  file(modelId: string, path: string): Uint8Array {
    const file = this.models.get(modelId)?.get(path);
    if (!file) throw new Error(`HubTestServer: no ${modelId}/${path}`);
    return file.bytes;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Requests for one file's resolve URL (`<modelId>/resolve/main/<path>`), CDN hops excluded. */
  resolveRequests(modelId: string, path: string): HubRequest[] {
    return this.requests.filter((r) => r.path === `/${modelId}/resolve/main/${path}`);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname);
    const range = req.headers.range ?? null;
    this.requests.push({ method: req.method ?? 'GET', path, range });
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(path);
    if (cdn) {
      const file = this.bySha.get(cdn[1]);
      const key = url.searchParams.get('key') ?? '';
      if (!file) return this.notFound(res);
      return this.sendBody(req, res, file, this.faults.get(key), { ETag: `"cdn-${file.sha256.slice(0, 16)}"` }, key);
    }
    const match = /^\/(.+?)\/resolve\/main\/(.+)$/.exec(path);
    const files = match ? this.models.get(match[1]) : undefined;
    let file = match ? files?.get(match[2]) : undefined;
    if (!match || !file) return this.notFound(res);
    const key = `${match[1]}/${match[2]}`;
    const fault = this.faults.get(key);
    if (fault?.kind === 'changed') file = changedCopy(file);
    if (LFS.test(match[2])) {
      const linked = {
        'X-Linked-Size': String(fault?.kind === 'bad-size' ? file.bytes.byteLength + 1 : file.bytes.byteLength),
        'X-Linked-Etag': `"${fault?.kind === 'bad-hash' ? '0'.repeat(64) : file.sha256}"`,
      };
      if (this.redirectLfs) {
        this.bySha.set(file.sha256, file);
        res.writeHead(302, {
          ...linked,
          ETag: linked['X-Linked-Etag'],
          Location: `/cdn/${file.sha256}?key=${encodeURIComponent(key)}`,
          'Content-Type': 'text/plain; charset=utf-8',
          'Content-Length': '0',
        });
        return void res.end();
      }
      return this.sendBody(req, res, file, fault, { ...linked, ETag: linked['X-Linked-Etag'] }, key);
    }
    return this.sendBody(req, res, file, fault, { ETag: `"${file.gitSha1}"` }, key);
  }

  private notFound(res: http.ServerResponse): void {
    res.writeHead(404, { 'Content-Type': 'text/plain', 'X-Error-Code': 'EntryNotFound' });
    res.end('Entry not found');
  }

  private sendBody(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    file: ServedFile,
    fault: HubFault | undefined,
    headers: Record<string, string>,
    key: string,
  ): void {
    const size = file.bytes.byteLength;
    const type = key.endsWith('.json') ? 'application/json' : 'application/octet-stream';
    let start = 0;
    const asked = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (asked && fault?.kind !== 'no-range') {
      start = Number(asked[1]);
      if (start >= size) {
        res.writeHead(416, { 'Content-Range': `bytes */${size}`, 'Content-Type': 'text/plain' });
        return void res.end();
      }
    }
    const body = file.bytes.subarray(start);
    res.writeHead(start > 0 ? 206 : 200, {
      ...headers,
      'Accept-Ranges': 'bytes',
      'Content-Type': type,
      'Content-Length': String(body.byteLength),
      ...(start > 0 ? { 'Content-Range': `bytes ${start}-${size - 1}/${size}` } : {}),
    });
    if (fault?.kind === 'drop' || fault?.kind === 'stall') {
      const cut = Math.max(0, Math.min(body.byteLength - 1, fault.after - start));
      res.write(body.subarray(0, cut));
      if (fault.kind === 'stall') return;
      const times = (fault.times ?? 1) - 1;
      if (times <= 0) this.faults.delete(key);
      else this.faults.set(key, { ...fault, times });
      setTimeout(() => res.destroy(), 5);
      return;
    }
    res.end(body);
  }
}

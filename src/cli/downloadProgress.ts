/**
 * The model download's progress line, in the style of the edit's step line (runEdit.ts):
 *   ██████░░░░ [5/5] onnx/text_model.onnx  120.4 MB / 254.0 MB  47%  8.1 MB/s  ETA 16s
 * Speed counts only the bytes of the current request (resumed bytes arrived earlier).
 */

import { formatBytes } from '../gpu/formatBytes';
import type { ModelProgressEvent } from '../clip/modelProgress';
import { formatDuration } from './formatDuration';

export type FileProgressEvent = ModelProgressEvent & { index: number; count: number };

export function downloadProgressLine(
  e: FileProgressEvent,
  bytesPerSecond: number,
  resumedFrom: number,
  retry = 0,
): string {
  const head = `[${e.index}/${e.count}] ${e.file}`;
  if (e.phase === 'verifying') return `${head}  ${formatBytes(e.loaded, 'si')}  verifying SHA-256…`;
  const speed = bytesPerSecond > 0 ? `  ${formatBytes(bytesPerSecond, 'si')}/s` : '';
  const resumed =
    (resumedFrom > 0 ? `  (resumed at ${formatBytes(resumedFrom, 'si')})` : '') +
    (retry > 0 ? `  (connection dropped, retry ${retry})` : '');
  if (e.total === null || e.total === 0) return `${head}  ${formatBytes(e.loaded, 'si')}${speed}${resumed}`;
  const width = 24;
  const fraction = Math.min(1, e.loaded / e.total);
  const filled = Math.round(width * fraction);
  const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
  const eta = bytesPerSecond > 0 ? (e.total - e.loaded) / bytesPerSecond : Infinity;
  return (
    `${bar} ${head}  ${formatBytes(e.loaded, 'si')} / ${formatBytes(e.total, 'si')}  ${Math.floor(fraction * 100)}%` +
    `${speed}${fraction < 1 ? `  ETA ${formatDuration(eta)}` : ''}${resumed}`
  );
}

/** The line once a file is in place. */
export function fileDoneLine(f: {
  path: string;
  size: number;
  sha256: string | null;
  index: number;
  count: number;
}): string {
  return `[${f.index}/${f.count}] ${f.path}  ${formatBytes(f.size, 'si')}  ${f.sha256 ? 'SHA-256 verified' : 'size checked'}`;
}

/** Turns progress events into lines, at most one per `intervalMs` except a file's first and last. */
export class DownloadMeter {
  private file = '';
  private phase: ModelProgressEvent['phase'];
  private startedAt = 0;
  private startBytes = 0;
  private resumedFrom = 0;
  private retry = 0;
  private lastLine = -Infinity;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  line(e: FileProgressEvent): string | null {
    const t = this.now();
    const newRequest = e.file !== this.file || e.retry !== undefined || e.resumedFrom !== undefined;
    if (newRequest && e.phase !== 'verifying') {
      if (e.file !== this.file) {
        this.resumedFrom = e.resumedFrom ?? 0;
        this.retry = 0;
      }
      if (e.retry !== undefined) this.retry = e.retry;
      this.file = e.file;
      this.startedAt = t;
      this.startBytes = e.loaded;
    }
    const changed = newRequest || e.phase !== this.phase || (e.total !== null && e.loaded >= e.total);
    this.phase = e.phase;
    if (!changed && t - this.lastLine < this.intervalMs) return null;
    this.lastLine = t;
    const seconds = (t - this.startedAt) / 1000;
    const speed = seconds > 0.2 ? (e.loaded - this.startBytes) / seconds : 0;
    return downloadProgressLine(e, speed, this.resumedFrom, this.retry);
  }
}

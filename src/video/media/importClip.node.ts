/**
 * The Node entry of clip import, for the CLI (`text2live atlas <clip>`) and tests: a path to a video (through the
 * system ffmpeg), a zip of frames, or a folder of frames, with optional masks, into a VideoClip.
 */
import { open, readFile, stat } from 'node:fs/promises';
import { assembleClip } from './assembleClip';
import type { FfmpegOptions } from './ffmpegTools.node.js';
import { openVideoWithFfmpeg } from './ffmpegVideo.node.js';
import { listFolderEntries, siblingMasksFolder } from './frameFolder.node.js';
import type { FrameSequence } from './frameSequence';
import { layoutFrameEntries, layoutMaskEntries } from './frameLayout';
import { describeCause, VideoImportError } from './importError';
import { type ClipImportOptions, type ImportProgressCallback, resolveImportOptions } from './importOptions';
import { isStillImage, sniffContainer, SNIFF_BYTES } from './sniffContainer';
import { decodeStillInNode } from './stillDecoder.node.js';
import { stillSequence, type StillEntry } from './stillSequence';
import type { VideoClip } from './videoClip';
import { listZipEntries } from './zipEntries';

export interface NodeClipImportOptions extends ClipImportOptions, FfmpegOptions {
  /**
   * The masks: a folder or zip of PNG/JPEG masks named like the frames, or a mask video with one frame per frame.
   * Default: the `masks/` folder inside the frames' folder or zip, or beside a `frames/` folder. null: no masks.
   */
  masks?: string | null;
}

async function readHead(path: string): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buf = new Uint8Array(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buf, 0, SNIFF_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

type PathKind = { kind: 'folder' } | { kind: 'zip' } | { kind: 'video' };

async function pathKind(path: string, label: string): Promise<PathKind> {
  let info;
  try {
    info = await stat(path);
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new VideoImportError(
      'unsupported-file',
      label,
      `Cannot read ${label}: ${missing ? 'no such file or folder' : describeCause(cause)}.`,
      {
        cause,
      },
    );
  }
  if (info.isDirectory()) return { kind: 'folder' };
  if (!info.isFile()) throw new VideoImportError('unsupported-file', label, `${label} is neither a file nor a folder.`);
  const kind = sniffContainer(await readHead(path));
  if (kind === 'zip') return { kind: 'zip' };
  if (isStillImage(kind)) {
    throw new VideoImportError(
      'unsupported-file',
      label,
      `${label} is a single image; a clip is a video (MP4, MOV, WebM) or a folder or zip of frames.`,
    );
  }
  return { kind: 'video' };
}

async function stillEntriesOf(path: string, label: string, kind: 'folder' | 'zip'): Promise<StillEntry[]> {
  return kind === 'folder'
    ? listFolderEntries(path, label)
    : listZipEntries(new Uint8Array(await readFile(path)), label);
}

/** The masks given on their own: a folder or zip of mask images, or a mask video. */
async function openMaskPath(
  path: string,
  options: NodeClipImportOptions,
  signal?: AbortSignal,
): Promise<FrameSequence> {
  const label = path;
  const { kind } = await pathKind(path, label);
  if (kind === 'video') return openVideoWithFfmpeg(path, label, options, signal);
  return stillSequence(layoutMaskEntries(await stillEntriesOf(path, label, kind), label), decodeStillInNode, label);
}

/**
 * Imports the clip at `path`. Throws VideoImportError (see importError.ts for the kinds); nothing is returned
 * half-loaded.
 */
export async function importClipFromPath(
  path: string,
  options: NodeClipImportOptions = {},
  onProgress?: ImportProgressCallback,
  signal?: AbortSignal,
): Promise<VideoClip> {
  const label = path;
  const resolved = resolveImportOptions(options, label);
  const opened: FrameSequence[] = [];
  try {
    const { kind } = await pathKind(path, label);
    let frames: FrameSequence;
    let masks: FrameSequence | null = null;
    if (kind === 'video') {
      frames = await openVideoWithFfmpeg(path, label, options, signal);
    } else {
      const layout = layoutFrameEntries(await stillEntriesOf(path, label, kind), label);
      frames = stillSequence(layout.frames, decodeStillInNode, label);
      if (options.masks === undefined && layout.masks.length) {
        masks = stillSequence(layout.masks, decodeStillInNode, `${label}/${layout.masksFolder}`);
      } else if (options.masks === undefined && kind === 'folder') {
        const sibling = await siblingMasksFolder(path);
        if (sibling) masks = await openMaskPath(sibling, options, signal);
      }
    }
    opened.push(frames);
    if (options.masks) masks = await openMaskPath(options.masks, options, signal);
    if (masks) opened.push(masks);
    return await assembleClip({ frames, masks, options: resolved, onProgress, signal });
  } finally {
    for (const s of opened) s.close();
  }
}

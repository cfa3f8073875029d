/**
 * The browser entry of clip import (the worker calls these): a dropped video file, a zip of frames, or the files of
 * a picked folder (File objects with webkitRelativePath), with optional masks, into a VideoClip. Every function
 * takes the options, a progress callback and an AbortSignal, and either returns a complete clip or throws a
 * VideoImportError.
 */
import { assembleClip } from './assembleClip';
import type { FrameSequence } from './frameSequence';
import { layoutFrameEntries, layoutMaskEntries } from './frameLayout';
import { normalizePath } from './framePaths';
import { throwIfCancelled, VideoImportError } from './importError';
import { type ClipImportOptions, type ImportProgressCallback, resolveImportOptions } from './importOptions';
import { openVideoBlob } from './mediabunnyVideo';
import { isStillImage, sniffContainer, SNIFF_BYTES } from './sniffContainer';
import { decodeStillInBrowser } from './stillDecoder.browser';
import { stillSequence, type StillEntry } from './stillSequence';
import type { VideoClip } from './videoClip';
import { listZipEntries } from './zipEntries';

/** A picked file with its path inside the picked folder ('' or absent: just the name). */
export type PickedFile = Blob & { name?: string; webkitRelativePath?: string };

export interface BrowserClipImportOptions extends ClipImportOptions {
  /**
   * The masks: a zip of PNG/JPEG masks named like the frames, the picked mask files, or a mask video (one frame
   * per frame). Default: the `masks/` folder inside the zip or picked folder. null: no masks.
   */
  masks?: Blob | readonly PickedFile[] | null;
}

function nameOf(blob: Blob, fallback: string): string {
  const name = (blob as PickedFile).name;
  return typeof name === 'string' && name ? name : fallback;
}

function pickedEntries(files: readonly PickedFile[]): StillEntry[] {
  return files.map((file, i) => ({
    path: normalizePath(file.webkitRelativePath || nameOf(file, `file ${i + 1}`)),
    read: async () => new Uint8Array(await file.arrayBuffer()),
  }));
}

/** "blackswan" for a picked folder, "12 files" for loose files. */
function pickedLabel(files: readonly PickedFile[]): string {
  const tops = new Set(files.map((f) => normalizePath(f.webkitRelativePath ?? '').split('/')[0]).filter(Boolean));
  if (tops.size === 1 && files.every((f) => f.webkitRelativePath)) return [...tops][0];
  return `${files.length} files`;
}

async function sniffBlob(blob: Blob) {
  return sniffContainer(new Uint8Array(await blob.slice(0, SNIFF_BYTES).arrayBuffer()));
}

async function zipEntries(zip: Blob, label: string): Promise<StillEntry[]> {
  return listZipEntries(new Uint8Array(await zip.arrayBuffer()), label);
}

async function openMasks(masks: Blob | readonly PickedFile[], signal?: AbortSignal): Promise<FrameSequence> {
  if (!(masks instanceof Blob)) {
    const label = pickedLabel(masks);
    return stillSequence(layoutMaskEntries(pickedEntries(masks), label), decodeStillInBrowser, label);
  }
  const label = nameOf(masks, 'the masks');
  const kind = await sniffBlob(masks);
  if (kind === 'zip')
    return stillSequence(layoutMaskEntries(await zipEntries(masks, label), label), decodeStillInBrowser, label);
  if (isStillImage(kind)) {
    throw new VideoImportError(
      'mask-mismatch',
      label,
      `${label} is a single image; give one mask per frame (a zip or a mask video).`,
    );
  }
  return openVideoBlob(masks, label, signal);
}

/** Runs the import over opened sequences and closes them whatever happens. */
async function importSequences<F extends FrameSequence>(
  open: () => Promise<{ frames: F; inTreeMasks: FrameSequence | null }>,
  options: BrowserClipImportOptions,
  label: string,
  onProgress?: ImportProgressCallback,
  signal?: AbortSignal,
): Promise<{ clip: VideoClip; frames: F }> {
  // Bad options fail before anything is opened.
  const resolved = resolveImportOptions(options, label);
  const opened: FrameSequence[] = [];
  try {
    const { frames, inTreeMasks } = await open();
    opened.push(frames);
    if (inTreeMasks) opened.push(inTreeMasks);
    let masks = options.masks === undefined ? inTreeMasks : null;
    if (options.masks) {
      masks = await openMasks(options.masks, signal);
      opened.push(masks);
    }
    const clip = await assembleClip({ frames, masks, options: resolved, onProgress, signal });
    return { clip, frames };
  } finally {
    for (const s of opened) s.close();
  }
}

/**
 * Decodes a video file (MP4, MOV, WebM) with mediabunny and WebCodecs: only the frames the trim keeps, stopping
 * after the last. The clip's `audio` points at the file's audio track, if any, for an export to copy.
 */
export async function decodeVideoBlob(
  blob: Blob,
  options: BrowserClipImportOptions = {},
  onProgress?: ImportProgressCallback,
  signal?: AbortSignal,
): Promise<VideoClip> {
  const label = nameOf(blob, 'the video');
  const { clip, frames } = await importSequences(
    async () => ({ frames: await openVideoBlob(blob, label, signal), inTreeMasks: null }),
    options,
    label,
    onProgress,
    signal,
  );
  // The probe and the frame times outlive the closed demuxer.
  if (frames.probe.audioCodec) {
    clip.audio = { source: blob, codec: frames.probe.audioCodec, ...frames.timeSpan(clip.frameIndices) };
  }
  return clip;
}

/** Imports a zip of PNG/JPEG frames, with a `masks/` folder inside or the masks given in the options. */
export async function importFramesZip(
  zip: Blob,
  options: BrowserClipImportOptions = {},
  onProgress?: ImportProgressCallback,
  signal?: AbortSignal,
): Promise<VideoClip> {
  const label = nameOf(zip, 'the zip');
  const { clip } = await importSequences(
    async () => {
      throwIfCancelled(signal, label);
      const layout = layoutFrameEntries(await zipEntries(zip, label), label);
      const frames = stillSequence(layout.frames, decodeStillInBrowser, label);
      const inTreeMasks = layout.masks.length
        ? stillSequence(layout.masks, decodeStillInBrowser, `${label}/${layout.masksFolder}`)
        : null;
      return { frames, inTreeMasks };
    },
    options,
    label,
    onProgress,
    signal,
  );
  return clip;
}

/** Imports picked files (a folder pick's File objects, or several dropped images) as frames, masks/ inside. */
export async function importFrameFiles(
  files: readonly PickedFile[],
  options: BrowserClipImportOptions = {},
  onProgress?: ImportProgressCallback,
  signal?: AbortSignal,
): Promise<VideoClip> {
  const label = pickedLabel(files);
  const { clip } = await importSequences(
    async () => {
      const layout = layoutFrameEntries(pickedEntries(files), label);
      const frames = stillSequence(layout.frames, decodeStillInBrowser, label);
      const inTreeMasks = layout.masks.length
        ? stillSequence(layout.masks, decodeStillInBrowser, `${label}/${layout.masksFolder}`)
        : null;
      return { frames, inTreeMasks };
    },
    options,
    label,
    onProgress,
    signal,
  );
  return clip;
}

/**
 * Whatever was dropped or picked: several files → frames; one zip → frames zip; one image → an error (one image is
 * an image edit, not a clip); anything else → a video file.
 */
export async function importClip(
  input: Blob | readonly PickedFile[],
  options: BrowserClipImportOptions = {},
  onProgress?: ImportProgressCallback,
  signal?: AbortSignal,
): Promise<VideoClip> {
  if (!(input instanceof Blob)) {
    // One loose file is a file drop; a folder pick holding one frame is still a folder.
    if (input.length === 1 && !input[0].webkitRelativePath) return importClip(input[0], options, onProgress, signal);
    return importFrameFiles(input, options, onProgress, signal);
  }
  const kind = await sniffBlob(input);
  if (kind === 'zip') return importFramesZip(input, options, onProgress, signal);
  if (isStillImage(kind)) {
    const label = nameOf(input, 'the file');
    throw new VideoImportError(
      'unsupported-file',
      label,
      `${label} is a single image; a clip is a video (MP4, MOV, WebM) or a folder or zip of frames.`,
    );
  }
  return decodeVideoBlob(input, options, onProgress, signal);
}

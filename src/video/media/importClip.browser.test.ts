/**
 * The browser entry's routing and everything it decides before decoding, in Node (the stills decoder itself needs
 * ImageDecoder, and is exercised in Chromium by e2e/video-import.spec.ts).
 */
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { importClip, importFrameFiles, type PickedFile } from './importClip.browser';
import { VideoImportError } from './importError';

/** A File as a folder pick gives it: with its path inside the picked folder. */
function picked(path: string, bytes: Uint8Array<ArrayBuffer> = new Uint8Array([1])): PickedFile {
  const f = new File([bytes], path.split('/').pop()!);
  Object.defineProperty(f, 'webkitRelativePath', { value: path });
  return f;
}

async function failure(p: Promise<unknown>): Promise<VideoImportError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(VideoImportError);
  return e as VideoImportError;
}

describe('importClip routing (browser entry)', () => {
  it('names a picked folder after its top folder', async () => {
    const e = await failure(importFrameFiles([picked('swan/notes.txt'), picked('swan/masks/0.png')]));
    expect([e.kind, e.message]).toEqual([
      'no-frames',
      'swan has no PNG or JPEG frames, only 1 masks (it holds 1 other files: txt).',
    ]);
    const loose = await failure(importFrameFiles([new File(['x'], 'a.txt'), new File(['y'], 'b.txt')]));
    expect(loose.message).toBe('2 files has no PNG or JPEG frames (it holds 2 other files: txt).');
  });

  it('sends a zip to the frames reader and checks its layout before decoding', async () => {
    const zip = zipSync({ 'a/1.png': new Uint8Array([1]), 'b/1.png': new Uint8Array([2]) });
    const e = await failure(importClip(new File([zip], 'two.zip')));
    expect(e.kind).toBe('frame-layout');
    expect(e.message).toMatch(/^two\.zip holds frames in 2 folders \(a\/, b\/\)/);
  });

  it('treats one loose picked file as a file drop, and refuses a single image', async () => {
    const jpeg = new File([new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0])], 'photo.jpg');
    const e = await failure(importClip([jpeg]));
    expect([e.kind, e.message]).toEqual([
      'unsupported-file',
      'photo.jpg is a single image; a clip is a video (MP4, MOV, WebM) or a folder or zip of frames.',
    ]);
  });

  it('checks the options before opening anything', async () => {
    const e = await failure(importClip(new File(['whatever'], 'x.mp4'), { maxSide: 100.5 }));
    expect([e.kind, e.message]).toEqual(['invalid-options', 'maxSide must be a whole number ≥ 16 (got 100.5).']);
  });
});

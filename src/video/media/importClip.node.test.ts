/**
 * The Node import of frame folders and zips (sharp): the blackswan DAVIS layout, zips made here with fflate, masks
 * in every form, and each way a folder can be wrong. Video files (ffmpeg) are in ffmpegVideo.node.test.ts.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resizeAntialiased } from '../../edit/image';
import { readImageFile } from '../../edit/imageIO.node.js';
import { importClipFromPath } from './importClip.node.js';
import { VideoImportError } from './importError';
import { maskCoverage } from './maskImage';

const BLACKSWAN = fileURLToPath(new URL('../../../../shared/data/video/blackswan', import.meta.url));
const name = (i: number) => String(i).padStart(5, '0');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frames-import-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Byte equality of pixel arrays (vitest's deep equality is slow on large typed arrays). */
function sameBytes(
  a: readonly Uint8Array[] | readonly Uint8ClampedArray[],
  b: readonly Uint8Array[] | readonly Uint8ClampedArray[],
): boolean {
  const buf = (x: Uint8Array | Uint8ClampedArray) => Buffer.from(x.buffer, x.byteOffset, x.length);
  return a.length === b.length && a.every((x, i) => buf(x).equals(buf(b[i])));
}

async function failure(p: Promise<unknown>): Promise<VideoImportError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(VideoImportError);
  return e as VideoImportError;
}

/** A solid-colour PNG of the given size. */
function png(width: number, height: number, grey = 128): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: grey, g: grey, b: grey } } })
    .png()
    .toBuffer();
}

/** A folder `name` under the temp dir holding the given files. */
async function folder(folderName: string, files: Record<string, Buffer | Uint8Array | string>): Promise<string> {
  const root = join(dir, folderName);
  for (const [path, bytes] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), bytes);
  }
  await mkdir(root, { recursive: true });
  return root;
}

async function blackswanFiles(count: number, prefix = ''): Promise<Record<string, Buffer>> {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < count; i++) {
    files[`${prefix}frames/${name(i)}.jpg`] = await readFile(join(BLACKSWAN, 'frames', `${name(i)}.jpg`));
    files[`${prefix}masks/${name(i)}.png`] = await readFile(join(BLACKSWAN, 'masks', `${name(i)}.png`));
  }
  return files;
}

describe('the blackswan frames folder (DAVIS layout)', () => {
  it('imports 10 frames at a small size with their masks, resized like the reference', async () => {
    const progress: string[] = [];
    const clip = await importClipFromPath(BLACKSWAN, { frameCount: 10, maxSide: 192 }, (p) =>
      progress.push(`${p.stage} ${p.done}/${p.total}`),
    );
    expect([clip.width, clip.height]).toEqual([192, 108]);
    expect(clip.frames).toHaveLength(10);
    expect(clip.frameIndices).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(clip.sourceFrameCount).toBe(50);
    expect([clip.frameRate, clip.sourceFrameRate]).toEqual([24, 24]);
    expect(clip.sourceName).toBe(BLACKSWAN);
    expect(progress.slice(0, 2)).toEqual(['frames 1/10', 'frames 2/10']);
    expect(progress.at(-1)).toBe('masks 10/10');
    // Frame 3 is sharp's decode of 00003.jpg, resized with the project's PIL-bilinear resize.
    const expected = resizeAntialiased(await readImageFile(join(BLACKSWAN, 'frames', '00003.jpg')), 192, 108);
    expect(sameBytes([clip.frames[3].data], [expected.data])).toBe(true);
    expect(clip.masks).toHaveLength(10);
    for (const m of clip.masks!) {
      expect(m).toHaveLength(192 * 108);
      expect(m.every((v) => v === 0 || v === 255)).toBe(true);
      expect(maskCoverage(m)).toBeGreaterThan(0.02); // the swan
      expect(maskCoverage(m)).toBeLessThan(0.5);
    }
  });

  it('finds the masks beside a frames/ folder, and leaves them out with masks: null', async () => {
    const frames = join(BLACKSWAN, 'frames');
    const clip = await importClipFromPath(frames, { start: 40, stride: 3, maxSide: 96, frameRate: 25 });
    expect(clip.frameIndices).toEqual([40, 43, 46, 49]);
    expect([clip.width, clip.height, clip.frameRate, clip.sourceFrameRate]).toEqual([96, 54, 25 / 3, 25]);
    expect(clip.masks).toHaveLength(4);
    const none = await importClipFromPath(frames, { frameCount: 2, maxSide: 96, masks: null });
    expect(none.masks).toBeNull();
  });

  it('takes masks given separately, as a folder or a zip', async () => {
    const frames = await folder(
      'only-frames',
      Object.fromEntries(Object.entries(await blackswanFiles(4)).filter(([p]) => p.startsWith('frames/'))),
    );
    const masksZip = join(dir, 'masks.zip');
    const maskFiles = Object.entries(await blackswanFiles(4)).filter(([p]) => p.startsWith('masks/'));
    await writeFile(masksZip, zipSync(Object.fromEntries(maskFiles.map(([p, b]) => [p.replace('masks/', ''), b]))));
    const fromZip = await importClipFromPath(join(frames, 'frames'), { maxSide: 96, masks: masksZip });
    const fromFolder = await importClipFromPath(BLACKSWAN, { frameCount: 4, maxSide: 96 });
    expect(sameBytes(fromZip.masks!, fromFolder.masks!)).toBe(true);
    expect(
      sameBytes(
        fromZip.frames.map((f) => f.data),
        fromFolder.frames.map((f) => f.data),
      ),
    ).toBe(true);
  });
});

describe('a zip of frames (fflate)', () => {
  it('imports like the folder it was made from, masks/ inside', async () => {
    const zipPath = join(dir, 'blackswan.zip');
    await writeFile(zipPath, zipSync(await blackswanFiles(6, 'blackswan/')));
    const zipped = await importClipFromPath(zipPath, { stride: 2, maxSide: 128 });
    const folderClip = await importClipFromPath(BLACKSWAN, { frameCount: 3, stride: 2, maxSide: 128 });
    expect(zipped.frameIndices).toEqual([0, 2, 4]);
    expect(zipped.sourceFrameCount).toBe(6);
    expect(
      sameBytes(
        zipped.frames.map((f) => f.data),
        folderClip.frames.map((f) => f.data),
      ),
    ).toBe(true);
    expect(sameBytes(zipped.masks!, folderClip.masks!)).toBe(true);
  });

  it('reads loose frames at the top of a zip in natural order, ignoring junk', async () => {
    const files: Record<string, Uint8Array> = {
      '__MACOSX/._1.png': new Uint8Array([0]),
      'notes.txt': new Uint8Array([1]),
    };
    for (const i of [10, 2, 1]) files[`${i}.png`] = await png(20, 10, i * 10);
    const zipPath = join(dir, 'loose.zip');
    await writeFile(zipPath, zipSync(files));
    const clip = await importClipFromPath(zipPath);
    expect(clip.frames.map((f) => f.data[0])).toEqual([10, 20, 100]);
    expect([clip.width, clip.height]).toEqual([20, 10]);
    expect(clip.masks).toBeNull();
  });

  it('calls a damaged zip corrupt', async () => {
    const zipPath = join(dir, 'broken.zip');
    const bytes = zipSync({ 'a.png': await png(8, 8) });
    await writeFile(zipPath, bytes.subarray(0, bytes.length - 30));
    const e = await failure(importClipFromPath(zipPath));
    expect(e.kind).toBe('corrupt');
    expect(e.message).toMatch(/^.*broken\.zip is not a readable zip \(/);
  });
});

describe('bad frame folders', () => {
  it('refuses frames of mixed sizes', async () => {
    const root = await folder('mixed', {
      '1.png': await png(32, 18),
      '2.png': await png(32, 18),
      '3.png': await png(30, 18),
    });
    const e = await failure(importClipFromPath(root));
    expect(e.kind).toBe('mixed-sizes');
    expect(e.message).toBe(
      `The frames of ${root} differ in size: 3.png is 30×18, 1.png is 32×18. Every frame of a clip must have the same size.`,
    );
  });

  it('refuses masks that are missing, extra or of another size', async () => {
    const files = await blackswanFiles(3);
    const missing = await folder('missing-mask', { ...files, 'masks/00002.png': '' });
    await rm(join(missing, 'masks', '00002.png'));
    const e1 = await failure(importClipFromPath(missing));
    expect(e1.kind).toBe('mask-mismatch');
    expect(e1.message).toBe(
      `The masks (${missing}/masks) do not match the frames of ${missing}: 1 frames have no mask (00002.jpg). A mask has ` +
        'the same name as its frame (00000.jpg ↔ 00000.png).',
    );
    const extra = await folder('extra-mask', { ...files, 'masks/00007.png': files['masks/00000.png'] });
    expect((await failure(importClipFromPath(extra))).message).toMatch(/1 masks have no frame \(00007\.png\)/);
    const small = await folder('small-mask', { ...files, 'masks/00001.png': await png(384, 216) });
    const e3 = await failure(importClipFromPath(small));
    expect(e3.kind).toBe('mask-mismatch');
    expect(e3.message).toBe(
      `The mask 00001.png (${small}/masks) is 384×216, but the frames of ${small} are 768×432; a mask must be the size of its frame.`,
    );
  });

  it('names a corrupt PNG or JPEG', async () => {
    const jpg = await readFile(join(BLACKSWAN, 'frames', '00000.jpg'));
    const root = await folder('corrupt-jpeg', { '1.jpg': jpg, '2.jpg': jpg.subarray(0, jpg.length >> 1) });
    const e = await failure(importClipFromPath(root, { maxSide: 64 }));
    expect(e.kind).toBe('corrupt');
    expect(e.message).toBe(`2.jpg in ${root} is corrupt (VipsJpeg: premature end of JPEG image).`);
    const p = await png(16, 16);
    const root2 = await folder('corrupt-png', { 'a.png': p, 'b.png': p.subarray(0, 40) });
    expect((await failure(importClipFromPath(root2))).message).toMatch(
      new RegExp(`^b\\.png in ${root2} is corrupt \\(`),
    );
    const root3 = await folder('not-png', { 'a.png': 'hello' });
    expect((await failure(importClipFromPath(root3))).message).toBe(
      `a.png in ${root3} is corrupt (not a PNG or JPEG image).`,
    );
  });

  it('says an empty folder has no frames, and what a folder of other files holds', async () => {
    const empty = await folder('empty', {});
    const e = await failure(importClipFromPath(empty));
    expect([e.kind, e.message]).toEqual(['no-frames', `${empty} has no PNG or JPEG frames.`]);
    const webp = await folder('webp', { 'a.webp': 'x', 'b.webp': 'x' });
    expect((await failure(importClipFromPath(webp))).message).toBe(
      `${webp} has no PNG or JPEG frames (it holds 2 other files: webp).`,
    );
  });

  it('refuses a trim past the end and bad options before reading anything', async () => {
    const e = await failure(importClipFromPath(BLACKSWAN, { start: 50 }));
    expect([e.kind, e.sourceFrameCount]).toEqual(['trim-out-of-range', 50]);
    const bad = await failure(importClipFromPath('/nonexistent', { stride: 0 }));
    expect(bad.kind).toBe('invalid-options');
  });

  it('names paths that are not clips', async () => {
    const missing = await failure(importClipFromPath(join(dir, 'nope.mp4')));
    expect([missing.kind, missing.message]).toEqual([
      'unsupported-file',
      `Cannot read ${join(dir, 'nope.mp4')}: no such file or folder.`,
    ]);
    const image = join(dir, 'photo.png');
    await writeFile(image, await png(8, 8));
    expect((await failure(importClipFromPath(image))).message).toBe(
      `${image} is a single image; a clip is a video (MP4, MOV, WebM) or a folder or zip of frames.`,
    );
  });

  it('stops when cancelled', async () => {
    const controller = new AbortController();
    const e = await failure(
      importClipFromPath(
        BLACKSWAN,
        { frameCount: 20, maxSide: 64 },
        (p) => p.done === 2 && controller.abort(),
        controller.signal,
      ),
    );
    expect(e.kind).toBe('cancelled');
  });
});

describe('the DAVIS copy', () => {
  it('is found through a copied frames/ folder with its masks/ sibling', async () => {
    const root = await folder('davis-copy', {});
    await mkdir(join(root, 'frames'));
    await mkdir(join(root, 'masks'));
    for (let i = 0; i < 2; i++) {
      await copyFile(join(BLACKSWAN, 'frames', `${name(i)}.jpg`), join(root, 'frames', `${name(i)}.jpg`));
      await copyFile(join(BLACKSWAN, 'masks', `${name(i)}.png`), join(root, 'masks', `${name(i)}.png`));
    }
    const clip = await importClipFromPath(join(root, 'frames'), { maxSide: 64 });
    expect(clip.masks).toHaveLength(2);
  });
});

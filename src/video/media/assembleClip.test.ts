/** The import over fake sequences: trim, progress, resizing, size checks, mask pairing, cancel, early ends. */
import { describe, expect, it } from 'vitest';
import { createImage } from '../../edit/image';
import type { RgbaImage } from '../../edit/jobTypes';
import { assembleClip } from './assembleClip';
import type { FrameSequence } from './frameSequence';
import { type ImportProgress, resolveImportOptions, type ClipImportOptions } from './importOptions';
import { VideoImportError } from './importError';
import type { Size } from './workingSize';

interface FakeOptions {
  count: number;
  size?: (index: number) => Size;
  names?: string[];
  displaySize?: Size;
  frameRate?: number;
  /** Stop handing out frames after this many (a truncated source). */
  endAfter?: number;
  label?: string;
}

/** A sequence whose frame i is filled with grey level i (masks: white where x < width/2). */
function fake(o: FakeOptions, mask = false): FrameSequence & { decoded: number[] } {
  const decoded: number[] = [];
  return {
    decoded,
    label: o.label ?? (mask ? 'masks' : 'clip'),
    frameCount: o.count,
    frameNames: o.names ?? null,
    displaySize: o.displaySize ?? null,
    frameRate: o.frameRate ?? null,
    frameLabel: (i) => o.names?.[i] ?? `frame ${i}`,
    async read(indices, onFrame) {
      for (let p = 0; p < indices.length; p++) {
        if (o.endAfter !== undefined && p >= o.endAfter) return;
        const i = indices[p];
        decoded.push(i);
        const s = o.size?.(i) ?? { width: 64, height: 36 };
        const img: RgbaImage = createImage(s.width, s.height);
        for (let y = 0; y < s.height; y++) {
          for (let x = 0; x < s.width; x++) {
            const v = mask ? (x < s.width / 2 ? 255 : 0) : i;
            img.data.set([v, v, v, 255], (y * s.width + x) * 4);
          }
        }
        await onFrame(img, p);
      }
    },
    close() {},
  };
}

async function assemble(
  frames: FrameSequence,
  masks: FrameSequence | null,
  options: ClipImportOptions = {},
  signal?: AbortSignal,
) {
  const progress: ImportProgress[] = [];
  const clip = await assembleClip({
    frames,
    masks,
    options: resolveImportOptions(options),
    onProgress: (p) => progress.push(p),
    signal,
  });
  return { clip, progress };
}

async function failure(p: Promise<unknown>): Promise<VideoImportError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(VideoImportError);
  return e as VideoImportError;
}

describe('assembleClip', () => {
  it('decodes only the kept frames, resizes them and reports progress', async () => {
    const frames = fake({ count: 40, size: () => ({ width: 640, height: 360 }), frameRate: 30 });
    const { clip, progress } = await assemble(frames, null, { start: 3, frameCount: 4, stride: 5, maxSide: 64 });
    expect(frames.decoded).toEqual([3, 8, 13, 18]);
    expect(clip.frameIndices).toEqual([3, 8, 13, 18]);
    expect([clip.width, clip.height]).toEqual([64, 36]);
    expect(clip.frames.map((f) => [f.width, f.height, f.data[0]])).toEqual([
      [64, 36, 3],
      [64, 36, 8],
      [64, 36, 13],
      [64, 36, 18],
    ]);
    expect(clip.sourceFrameCount).toBe(40);
    expect(clip.sourceFrameRate).toBe(30);
    expect(clip.frameRate).toBe(6);
    expect(clip.masks).toBeNull();
    expect(clip.sourceName).toBe('clip');
    expect(progress).toEqual([1, 2, 3, 4].map((done) => ({ stage: 'frames', done, total: 4 })));
  });

  it('sizes the clip from the display size of a video with non-square pixels', async () => {
    const frames = fake({
      count: 2,
      size: () => ({ width: 720, height: 480 }),
      displaySize: { width: 854, height: 480 },
    });
    const { clip } = await assemble(frames, null);
    expect([clip.width, clip.height]).toEqual([768, 432]);
    expect(clip.frameRate).toBe(24); // no rate of its own: the frameRate option's default
  });

  it('refuses frames of mixed sizes, naming both', async () => {
    const names = ['a.png', 'b.png', 'c.png'];
    const frames = fake({
      count: 3,
      names,
      size: (i) => (i === 2 ? { width: 32, height: 18 } : { width: 64, height: 36 }),
    });
    const e = await failure(assemble(frames, null));
    expect(e.kind).toBe('mixed-sizes');
    expect(e.message).toBe(
      'The frames of clip differ in size: c.png is 32×18, a.png is 64×36. Every frame of a clip must have the same size.',
    );
  });

  it('pairs named masks by name and resizes them, binary', async () => {
    const frames = fake({ count: 3, names: ['0.jpg', '1.jpg', '2.jpg'], size: () => ({ width: 128, height: 72 }) });
    const masks = fake(
      { count: 3, names: ['2.png', '0.png', '1.png'], size: () => ({ width: 128, height: 72 }) },
      true,
    );
    const { clip, progress } = await assemble(frames, masks, { start: 1, maxSide: 64 });
    expect(masks.decoded).toEqual([2, 0]); // masks of frames 1 and 2
    expect(clip.masks).toHaveLength(2);
    const m = clip.masks![0];
    expect(m).toHaveLength(64 * 36);
    expect([m[0], m[31], m[32], m[63]]).toEqual([255, 255, 0, 0]);
    expect(progress.filter((p) => p.stage === 'masks')).toEqual([
      { stage: 'masks', done: 1, total: 2 },
      { stage: 'masks', done: 2, total: 2 },
    ]);
  });

  it('pairs a mask video by position and wants as many masks as frames', async () => {
    const frames = fake({ count: 5, frameRate: 10 });
    const { clip } = await assemble(frames, fake({ count: 5 }, true), { stride: 2 });
    expect(clip.masks).toHaveLength(3);
    const e = await failure(assemble(fake({ count: 5 }), fake({ count: 4, label: 'm.mp4' }, true)));
    expect(e.kind).toBe('mask-mismatch');
    expect(e.message).toBe('clip has 5 frames but its masks (m.mp4) have 4; there must be one mask per frame.');
  });

  it('refuses masks of another size before decoding them all', async () => {
    const frames = fake({ count: 2, names: ['0.jpg', '1.jpg'] });
    const masks = fake(
      { count: 2, names: ['0.png', '1.png'], size: () => ({ width: 32, height: 18 }), label: 'clip/masks' },
      true,
    );
    const e = await failure(assemble(frames, masks));
    expect(e.kind).toBe('mask-mismatch');
    expect(e.message).toBe(
      'The mask 0.png (clip/masks) is 32×18, but the frames of clip are 64×36; a mask must be the size of its frame.',
    );
    expect(masks.decoded).toEqual([0]);
  });

  it('checks the mask names before decoding anything', async () => {
    const frames = fake({ count: 2, names: ['0.jpg', '1.jpg'] });
    const masks = fake({ count: 1, names: ['0.png'] }, true);
    expect((await failure(assemble(frames, masks))).kind).toBe('mask-mismatch');
    expect(frames.decoded).toEqual([]);
  });

  it('calls a source that ends early corrupt, not a shorter clip', async () => {
    const e = await failure(assemble(fake({ count: 10, endAfter: 3, label: 'cut.mp4' }), null));
    expect(e.kind).toBe('corrupt');
    expect(e.message).toBe('cut.mp4 ended after 3 of the 10 frames to import; the file may be truncated.');
  });

  it('stops when the signal fires', async () => {
    const controller = new AbortController();
    const frames = fake({ count: 10 });
    const read = frames.read.bind(frames);
    frames.read = (indices, onFrame, signal) =>
      read(
        indices,
        async (f, p) => {
          await onFrame(f, p);
          if (p === 1) controller.abort();
        },
        signal,
      );
    const e = await failure(assemble(frames, null, {}, controller.signal));
    expect(e.kind).toBe('cancelled');
    expect(e.message).toBe('Importing clip was cancelled.');
    expect(frames.decoded).toEqual([0, 1, 2]);
    const before = new AbortController();
    before.abort();
    expect((await failure(assemble(fake({ count: 2 }), null, {}, before.signal))).kind).toBe('cancelled');
  });

  it('refuses a too-long clip before decoding, with the count', async () => {
    const frames = fake({ count: 71 });
    const e = await failure(assemble(frames, null));
    expect(e.kind).toBe('too-many-frames');
    expect(e.sourceFrameCount).toBe(71);
    expect(frames.decoded).toEqual([]);
  });
});

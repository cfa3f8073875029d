import { describe, expect, it } from 'vitest';
import { layoutFrameEntries, layoutMaskEntries } from './frameLayout';
import { baseName, dirName, extensionOf, fileStem, isJunkPath, normalizePath } from './framePaths';
import { VideoImportError } from './importError';

const entries = (...paths: string[]) => paths.map((path) => ({ path }));
const paths = (list: { path: string }[]) => list.map((e) => e.path);

function layoutError(list: { path: string }[]): VideoImportError {
  try {
    layoutFrameEntries(list, 'clip.zip');
  } catch (e) {
    expect(e).toBeInstanceOf(VideoImportError);
    return e as VideoImportError;
  }
  throw new Error('accepted');
}

describe('framePaths', () => {
  it('splits and normalizes paths', () => {
    expect(normalizePath('a\\b/./c.png')).toBe('a/b/c.png');
    expect(normalizePath('/x//y.jpg')).toBe('x/y.jpg');
    expect(baseName('a/b/c.png')).toBe('c.png');
    expect(dirName('a/b/c.png')).toBe('a/b');
    expect(dirName('c.png')).toBe('');
    expect(extensionOf('A/B.JPEG')).toBe('jpeg');
    expect(extensionOf('.hidden')).toBe('');
    expect(fileStem('masks/00001.png')).toBe('00001');
    expect(fileStem('f.v2.jpg')).toBe('f.v2');
    expect(isJunkPath('__MACOSX/frames/._00001.jpg')).toBe(true);
    expect(isJunkPath('frames/.DS_Store')).toBe(true);
    expect(isJunkPath('frames/Thumbs.db')).toBe(true);
    expect(isJunkPath('frames/00001.jpg')).toBe(false);
  });
});

describe('layoutFrameEntries', () => {
  it('reads the DAVIS layout: frames/ and masks/ side by side, in natural order', () => {
    const layout = layoutFrameEntries(
      entries('clip/masks/10.png', 'clip/frames/10.jpg', 'clip/frames/2.jpg', 'clip/masks/2.png', 'clip/README.txt'),
      'clip.zip',
    );
    expect(paths(layout.frames)).toEqual(['clip/frames/2.jpg', 'clip/frames/10.jpg']);
    expect(paths(layout.masks)).toEqual(['clip/masks/2.png', 'clip/masks/10.png']);
    expect(layout.framesFolder).toBe('clip/frames');
    expect(layout.masksFolder).toBe('clip/masks');
    expect(layout.ignored).toEqual(['clip/README.txt']);
  });

  it('reads frames at the top level with a mask folder inside, and ignores macOS and hidden files', () => {
    const layout = layoutFrameEntries(
      entries('b.PNG', 'a.jpeg', 'Mask/a.png', 'Mask/b.png', '__MACOSX/._a.jpeg', '.DS_Store', 'dir/'),
      'picked',
    );
    expect(paths(layout.frames)).toEqual(['a.jpeg', 'b.PNG']);
    expect(paths(layout.masks)).toEqual(['Mask/a.png', 'Mask/b.png']);
    expect(layout.framesFolder).toBe('');
    expect(layout.ignored).toEqual([]);
  });

  it('has no masks when there is no mask folder', () => {
    const layout = layoutFrameEntries(entries('f/1.png', 'f/2.png'), 'f');
    expect(layout.masks).toEqual([]);
    expect(layout.masksFolder).toBeNull();
  });

  it('refuses frames in several folders', () => {
    const e = layoutError(entries('a/1.png', 'b/1.png', 'b/2.png'));
    expect(e.kind).toBe('frame-layout');
    expect(e.message).toBe(
      'clip.zip holds frames in 2 folders (a/, b/). Keep the frames in one folder, and their masks, if any, in a folder ' +
        'named masks.',
    );
    expect(layoutError(entries('f/1.png', 'masks/a/1.png', 'masks/b/1.png')).message).toMatch(
      /holds masks in 2 folders/,
    );
  });

  it('refuses two files for one frame', () => {
    const e = layoutError(entries('f/00001.jpg', 'f/00001.png'));
    expect(e.kind).toBe('frame-layout');
    expect(e.message).toBe('clip.zip has two frames named 00001: 00001.jpg and 00001.png. Keep one file per frame.');
  });

  it('says what it found when there are no frames', () => {
    const empty = layoutError([]);
    expect(empty.kind).toBe('no-frames');
    expect(empty.message).toBe('clip.zip has no PNG or JPEG frames.');
    expect(layoutError(entries('a.webp', 'b.webp', 'notes.txt', 'LICENSE')).message).toBe(
      'clip.zip has no PNG or JPEG frames (it holds 4 other files: webp, txt, (no extension)).',
    );
    expect(layoutError(entries('masks/1.png')).message).toBe('clip.zip has no PNG or JPEG frames, only 1 masks.');
  });
});

describe('layoutMaskEntries', () => {
  it('takes every image of one folder, in natural order', () => {
    expect(paths(layoutMaskEntries(entries('m/10.png', 'm/9.png', 'm/notes.txt'), 'm.zip'))).toEqual([
      'm/9.png',
      'm/10.png',
    ]);
  });

  it('refuses an empty mask set', () => {
    expect(() => layoutMaskEntries(entries('notes.txt'), 'm.zip')).toThrow('m.zip has no PNG or JPEG mask frames.');
  });
});

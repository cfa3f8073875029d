import { describe, expect, it } from 'vitest';
import { VideoImportError } from './importError';
import { checkMaskCount, pairMasksByName } from './maskPairing';

function error(f: () => unknown): VideoImportError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(VideoImportError);
    expect((e as VideoImportError).kind).toBe('mask-mismatch');
    return e as VideoImportError;
  }
  throw new Error('accepted');
}

describe('pairMasksByName', () => {
  it('pairs by name without the extension, whatever the order', () => {
    expect(
      pairMasksByName(['00000.jpg', '00001.jpg', '00002.jpg'], ['00002.png', '00000.png', '00001.png'], 'f', 'm'),
    ).toEqual([1, 2, 0]);
  });

  it('names the frames without masks and the masks without frames', () => {
    const frames = Array.from({ length: 10 }, (_, i) => `${i}.jpg`);
    const masks = ['0.png', '1.png', '2.png', 'x.png'];
    expect(error(() => pairMasksByName(frames, masks, 'blackswan', 'blackswan/masks')).message).toBe(
      'The masks (blackswan/masks) do not match the frames of blackswan: 7 frames have no mask (3.jpg, 4.jpg, 5.jpg, ' +
        '6.jpg, 7.jpg and 2 more); 1 masks have no frame (x.png). A mask has the same name as its frame ' +
        '(00000.jpg ↔ 00000.png).',
    );
  });
});

describe('checkMaskCount', () => {
  it('wants one mask per frame', () => {
    expect(() => checkMaskCount(80, 80, 'c.mp4', 'm.mp4')).not.toThrow();
    expect(error(() => checkMaskCount(80, 79, 'c.mp4', 'm.mp4')).message).toBe(
      'c.mp4 has 80 frames but its masks (m.mp4) have 79; there must be one mask per frame.',
    );
  });
});

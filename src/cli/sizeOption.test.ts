import { describe, expect, it } from 'vitest';
import { parseSizeText, sizeOptionMessage } from './sizeOption';

describe('--size WIDTHxHEIGHT', () => {
  const limits = { min: 16, max: 4096 };
  it('reads both spellings of the separator and keeps the bounds inclusive', () => {
    expect(parseSizeText('384x216', limits)).toEqual({ width: 384, height: 216 });
    expect(parseSizeText(' 768×432 ', limits)).toEqual({ width: 768, height: 432 });
    expect(parseSizeText('16x4096', limits)).toEqual({ width: 16, height: 4096 });
  });
  it('rejects other text and sides outside the limits, and says so', () => {
    for (const raw of ['384', '384x', 'x216', '384x216x3', '-16x16', '15x100', '100x4097', '38.4x216']) {
      expect(parseSizeText(raw, limits), raw).toBeNull();
    }
    expect(sizeOptionMessage('memory-size', '15x100', limits)).toBe(
      '--memory-size must be WIDTHxHEIGHT with both sides in 16..4096 (e.g. 384x216), got "15x100"',
    );
  });
});

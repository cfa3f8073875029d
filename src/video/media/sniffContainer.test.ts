import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeCodec } from './codecNames';
import { isobmffProblem, matroskaProblem } from './containerIntegrity';
import { isAudioContainer, isStillImage, isVideoContainer, sniffContainer } from './sniffContainer';

const CAR_TURN = readFileSync(fileURLToPath(new URL('../../../../shared/data/video/car-turn.mp4', import.meta.url)));

const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)));

const reader = (b: Uint8Array) => async (offset: number, length: number) => b.subarray(offset, offset + length);

describe('sniffContainer', () => {
  it('recognises the containers a person may drop', () => {
    expect(sniffContainer(CAR_TURN.subarray(0, 512))).toBe('isobmff');
    expect(sniffContainer(bytes([0, 0, 0, 20], 'ftypqt  '))).toBe('isobmff'); // MOV
    expect(sniffContainer(bytes([0, 0, 0, 8], 'wide'))).toBe('isobmff'); // old MOV
    expect(sniffContainer(bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f]))).toBe('matroska');
    expect(sniffContainer(bytes('PK', [3, 4, 20, 0]))).toBe('zip');
    expect(sniffContainer(bytes([0x89], 'PNG', [13, 10, 26, 10]))).toBe('png');
    expect(sniffContainer(bytes([0xff, 0xd8, 0xff, 0xe0]))).toBe('jpeg');
    expect(sniffContainer(bytes('RIFF', [0, 0, 0, 0], 'WAVEfmt '))).toBe('wave');
    expect(sniffContainer(bytes('RIFF', [0, 0, 0, 0], 'AVI LIST'))).toBe('avi');
    expect(sniffContainer(bytes('ID3', [4, 0]))).toBe('mp3');
    expect(sniffContainer(bytes('OggS', [0]))).toBe('ogg');
    expect(sniffContainer(bytes('hello, not a video'))).toBeNull();
    expect(sniffContainer(new Uint8Array(0))).toBeNull();
  });

  it('groups them', () => {
    expect(isVideoContainer('isobmff') && isVideoContainer('matroska')).toBe(true);
    expect(isVideoContainer('zip') || isVideoContainer(null)).toBe(false);
    expect(isAudioContainer('wave') && isStillImage('png') && isStillImage('jpeg')).toBe(true);
  });
});

describe('isobmffProblem', () => {
  it('passes a complete file and names a truncated one', async () => {
    expect(await isobmffProblem(CAR_TURN.length, reader(CAR_TURN))).toBeNull();
    const cut = CAR_TURN.subarray(0, 20_000);
    expect(await isobmffProblem(cut.length, reader(cut))).toBe(
      "its 'mdat' box needs 941900 bytes but the file has 20000 (the file is truncated, 2% present)",
    );
    const inMoov = CAR_TURN.subarray(0, 1000);
    expect(await isobmffProblem(inMoov.length, reader(inMoov))).toMatch(
      /'moov' box needs 1730 bytes but the file has 1000/,
    );
    const header = CAR_TURN.subarray(0, 36);
    expect(await isobmffProblem(header.length, reader(header))).toBe(
      'it ends inside a box header at byte 32 (the file is truncated)',
    );
  });

  it('wants a moov box and sane box sizes', async () => {
    const ftypOnly = CAR_TURN.subarray(0, 32);
    expect(await isobmffProblem(ftypOnly.length, reader(ftypOnly))).toMatch(/no 'moov' box/);
    const zeroSized = bytes([0, 0, 0, 4], 'ftyp', [0, 0, 0, 0]);
    expect(await isobmffProblem(zeroSized.length, reader(zeroSized))).toMatch(/impossible size \(4\)/);
    const garbage = bytes([0, 0, 0, 16], 'ftypisom', [0, 0, 0, 0], [0, 0, 0, 9, 1, 2, 3, 4, 0]);
    expect(await isobmffProblem(garbage.length, reader(garbage))).toMatch(/not an MP4 box there/);
    // size 0: "to the end of the file"; size 1: a 64-bit size follows.
    const toEnd = bytes([0, 0, 0, 8], 'moov', [0, 0, 0, 0], 'mdat', [1, 2, 3]);
    expect(await isobmffProblem(toEnd.length, reader(toEnd))).toBeNull();
    const large = bytes([0, 0, 0, 8], 'moov', [0, 0, 0, 1], 'mdat', [0, 0, 0, 0, 0, 0, 0, 17], [9]);
    expect(await isobmffProblem(large.length, reader(large))).toBeNull();
  });
});

describe('matroskaProblem', () => {
  // EBML header of 4 bytes of content, then a Segment of declared size 16.
  const webm = (segmentContent: number) =>
    bytes(
      [0x1a, 0x45, 0xdf, 0xa3, 0x84, 1, 2, 3, 4],
      [0x18, 0x53, 0x80, 0x67, 0x90],
      new Array(segmentContent).fill(0),
    );

  it('compares the Segment’s declared size with the file', async () => {
    expect(await matroskaProblem(webm(16).length, reader(webm(16)))).toBeNull();
    const cut = webm(10);
    expect(await matroskaProblem(cut.length, reader(cut))).toBe(
      'its Segment needs 30 bytes but the file has 24 (the file is truncated, 80% present)',
    );
  });

  it('accepts a Segment of unknown size (a live recording)', async () => {
    const live = bytes([0x1a, 0x45, 0xdf, 0xa3, 0x80], [0x18, 0x53, 0x80, 0x67, 0xff], [1, 2]);
    expect(await matroskaProblem(live.length, reader(live))).toBeNull();
  });
});

describe('describeCodec', () => {
  it('names codecs in words with their codec string', () => {
    expect(describeCodec('hevc', 'hvc1.1.6.L93.B0')).toBe('HEVC (hvc1.1.6.L93.B0)');
    expect(describeCodec('avc', 'avc1.640016')).toBe('H.264 (avc1.640016)');
    expect(describeCodec(null, 'hev1.1.6.L30.90')).toBe('HEVC (hev1.1.6.L30.90)');
    expect(describeCodec('apch', null)).toBe('ProRes 422 HQ');
    expect(describeCodec('prores', 'apch')).toBe('ProRes (apch)');
    expect(describeCodec('h264', null)).toBe('H.264');
    expect(describeCodec('xyz1', null)).toBe('an unknown codec (xyz1)');
    expect(describeCodec(null, null)).toBe('an unknown codec');
  });
});

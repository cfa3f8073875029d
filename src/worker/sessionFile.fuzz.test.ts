import { describe, expect, it } from 'vitest';
import { bitFlips, byteOverwrites, fuzz, MiB, rawSafetensors, rejection, truncations } from '../../test/fuzz';
import { encodeRawSafetensors, encodeSafetensors, readSafetensorsLayout, type RawTensor } from '../nn/safetensors';
import {
  APP_METADATA_KEY,
  INPUT_TENSOR,
  SessionFileError,
  unwrapSession,
  wrapSession,
  type UnwrappedSession,
} from './sessionFile';

const jobSession = () =>
  encodeSafetensors(
    [
      { name: 'gen.w', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
      { name: 'optim.gen.w.s', shape: [2, 3], data: new Float32Array(6).fill(-0.5) },
    ],
    { format: 'text2live-session-v1', step: '12' },
  );
const image = { width: 3, height: 2, data: Uint8ClampedArray.from({ length: 24 }, (_, i) => i * 10) };
const info = JSON.stringify({ version: 1, quality: 'tiny', savedAt: '2026-01-01T00:00:00Z' });

/** A session file with the given photo tensor and app metadata (the job's tensors as usual). */
function withPhoto(photo: { dtype: string; shape: number[]; bytes: Uint8Array } | null, app: string | null = info) {
  const layout = readSafetensorsLayout(jobSession());
  const tensors: RawTensor[] = layout.tensors.map((t) => ({
    name: t.name,
    dtype: t.dtype,
    shape: t.shape,
    bytes: layout.data.subarray(t.begin, t.end),
  }));
  if (photo) tensors.push({ name: INPUT_TENSOR, ...photo });
  return encodeRawSafetensors(tensors, { ...layout.metadata, ...(app === null ? {} : { [APP_METADATA_KEY]: app }) });
}

function expectSessionError(bytes: Uint8Array, pattern: RegExp): void {
  let error: unknown = null;
  try {
    unwrapSession(bytes);
  } catch (e) {
    error = e;
  }
  expect(error, `${pattern}`).toBeInstanceOf(SessionFileError);
  expect((error as Error).message).toMatch(pattern);
}

/** What unwrapping returns is no larger than what it was given. */
function checkBounded(r: UnwrappedSession, m: { bytes: Uint8Array }): void {
  if (r.job.byteLength > m.bytes.byteLength) throw new Error('job bytes larger than the file');
  if (r.image && r.image.data.length !== r.image.width * r.image.height * 4) throw new Error('photo size mismatch');
}

describe('session file fuzz', () => {
  const valid = wrapSession(jobSession(), image, { quality: 'tiny', savedAt: '2026-01-01T00:00:00Z' });

  it('rejects every truncation with a SessionFileError', async () => {
    const report = await fuzz(truncations(valid), unwrapSession, { accept: (e) => e instanceof SessionFileError });
    expect(report.failures).toEqual([]);
    expect(report.rejected).toBe(valid.length);
    expect(report.totalMs).toBeLessThan(3000);
  });

  it('unwraps or rejects bit-flipped and overwritten files, never with another error', async () => {
    const cases = [...bitFlips(valid, 2500, 31), ...byteOverwrites(valid, 800, 32)];
    const report = await fuzz(cases, unwrapSession, {
      accept: (e) => e instanceof SessionFileError,
      check: checkBounded,
    });
    expect(report.failures).toEqual([]);
    expect(report.parsed).toBeGreaterThan(0);
    expect(report.rejected).toBeGreaterThan(cases.length / 4);
    expect(report.totalMs).toBeLessThan(5000);
  });

  it('names a malformed photo', () => {
    const u8 = (n: number) => new Uint8Array(n);
    expectSessionError(
      withPhoto({ dtype: 'F32', shape: [2, 3, 1], bytes: u8(24) }),
      /photo .*F32 \[2,3,1\].*malformed/,
    );
    expectSessionError(withPhoto({ dtype: 'U8', shape: [2, 3, 3], bytes: u8(18) }), /malformed: expected U8/);
    expectSessionError(withPhoto({ dtype: 'U8', shape: [2, 3, 4, 1], bytes: u8(24) }), /malformed/);
    expectSessionError(withPhoto({ dtype: 'U8', shape: [24], bytes: u8(24) }), /malformed/);
    expectSessionError(
      withPhoto({ dtype: 'U8', shape: [0, 3, 4], bytes: u8(0) }),
      /invalid size: each side must be 1 to 16384/,
    );
    expectSessionError(withPhoto({ dtype: 'U8', shape: [20000, 1, 4], bytes: u8(80000) }), /invalid size/);
  });

  it('rejects a huge declared photo before allocating', async () => {
    const header = {
      [INPUT_TENSOR]: { dtype: 'U8', shape: [1_000_000, 1_000_000, 4], data_offsets: [0, 4e12] },
      __metadata__: { [APP_METADATA_KEY]: info },
    };
    for (const bytes of [
      rawSafetensors(header, new Uint8Array(64)),
      rawSafetensors(header, new Uint8Array(0), 1n << 40n),
    ]) {
      const r = await rejection(() => unwrapSession(bytes));
      expect(r.error).toBeInstanceOf(SessionFileError);
      expect((r.error as Error).message).toMatch(/not a session file, or it is damaged \(safetensors: /);
      expect(r.arrayBufferGrowth).toBeLessThan(MiB);
    }
  });

  it('names bad app metadata (JSON, version, quality, time)', () => {
    const photo = { dtype: 'U8', shape: [2, 3, 4], bytes: new Uint8Array(24) };
    expectSessionError(withPhoto(photo, '{version: 1}'), /app settings \("text2live.app"\) are not valid JSON/);
    expectSessionError(withPhoto(photo, '[]'), /no valid format version \(expected 1, got undefined\)/);
    expectSessionError(
      withPhoto(photo, JSON.stringify({ version: 2, quality: 'tiny', savedAt: 'x' })),
      /newer version of the app \(session format 2\)/,
    );
    expectSessionError(
      withPhoto(photo, JSON.stringify({ version: '1', quality: 'tiny', savedAt: 'x' })),
      /no valid format version/,
    );
    expectSessionError(
      withPhoto(photo, JSON.stringify({ version: 1, quality: 'ultra', savedAt: 'x' })),
      /unknown quality level "ultra" \(expected one of preview, standard, reference, tiny\)/,
    );
    expectSessionError(
      withPhoto(photo, JSON.stringify({ version: 1, quality: 'tiny', savedAt: 5 })),
      /no valid saving time/,
    );
    // The app's key without a photo: accepted (the page asks for the photo).
    expect(unwrapSession(withPhoto(null)).image).toBeNull();
  });

  it('names a damaged container and non-session files', () => {
    expectSessionError(
      new Uint8Array(0),
      /not a session file, or it is damaged \(safetensors: file is truncated: 0 bytes/,
    );
    expectSessionError(new TextEncoder().encode('{"hello": "world"}'), /not a session file, or it is damaged/);
    expectSessionError(
      rawSafetensors({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(8)),
      /4 trailing bytes/,
    );
  });

  it('replaces a photo already present instead of keeping its bytes', () => {
    const twice = wrapSession(valid, image, { quality: 'tiny', savedAt: '2026-01-01T00:00:00Z' });
    expect(twice).toEqual(valid);
  });
});

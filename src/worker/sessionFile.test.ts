import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../nn/safetensors';
import { APP_METADATA_KEY, INPUT_TENSOR, SessionFileError, unwrapSession, wrapSession } from './sessionFile';

const jobSession = () =>
  encodeSafetensors(
    [
      { name: 'gen.w', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
      { name: 'opt.s', shape: [3], data: Float32Array.from([-1, 0.5, 7]) },
    ],
    { format: 'text2live-session-v1', step: '12' },
  );

const image = { width: 3, height: 2, data: Uint8ClampedArray.from({ length: 24 }, (_, i) => i * 10) };

describe('session file', () => {
  it('adds the photo and app metadata and stays a safetensors file the job can read', () => {
    const wrapped = wrapSession(jobSession(), image, { quality: 'tiny', savedAt: '2026-01-01T00:00:00Z' });
    const header = JSON.parse(
      new TextDecoder().decode(wrapped.subarray(8, 8 + Number(new DataView(wrapped.buffer).getBigUint64(0, true)))),
    );
    expect(header[INPUT_TENSOR]).toMatchObject({ dtype: 'U8', shape: [2, 3, 4] });
    expect(JSON.parse(header.__metadata__[APP_METADATA_KEY])).toMatchObject({ version: 1, quality: 'tiny' });

    const back = unwrapSession(wrapped);
    expect(back.info).toMatchObject({ quality: 'tiny' });
    expect(back.image).toEqual(image);
    // The job's bytes decode exactly as before (the photo and the app key removed).
    const a = decodeSafetensors(back.job);
    const b = decodeSafetensors(jobSession());
    expect(a.metadata).toEqual(b.metadata);
    expect([...a.tensors.keys()].sort()).toEqual([...b.tensors.keys()].sort());
    for (const [k, t] of b.tensors) expect(Array.from(a.tensors.get(k)!.data)).toEqual(Array.from(t.data));
  });

  it('accepts a bare job session and rejects garbage', () => {
    const bare = jobSession();
    const u = unwrapSession(bare);
    expect(u.image).toBeNull();
    expect(u.job).toBe(bare);
    expect(() => unwrapSession(new TextEncoder().encode('hello, not a session'))).toThrow(SessionFileError);
    expect(() => unwrapSession(new Uint8Array(3))).toThrow(SessionFileError);
  });

  it('rewraps without duplicating the photo', () => {
    const once = wrapSession(jobSession(), image, { quality: 'preview', savedAt: 'x' });
    const twice = wrapSession(unwrapSession(once).job, image, { quality: 'preview', savedAt: 'x' });
    expect(twice.byteLength).toBe(once.byteLength);
  });

  it('wraps a video edit without a photo, with the clip it was made on', () => {
    const clip = { width: 8, height: 6, frames: 3 };
    const wrapped = wrapSession(jobSession(), null, { quality: 'standard', savedAt: 'x', clip });
    const back = unwrapSession(wrapped);
    expect(back.image).toBeNull();
    expect(back.info).toEqual({ version: 1, quality: 'standard', savedAt: 'x', clip });
    expect(decodeSafetensors(back.job).metadata).toEqual(decodeSafetensors(jobSession()).metadata);
    const bad = encodeSafetensors([], {
      [APP_METADATA_KEY]: JSON.stringify({ version: 1, quality: 'tiny', savedAt: 'x', clip: { width: -1 } }),
    });
    expect(() => unwrapSession(bad)).toThrow(/clip/);
  });
});

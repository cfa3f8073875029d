import { describe, expect, it } from 'vitest';
import { bitFlips, fuzz, rawSafetensors, rejection, truncations } from '../../test/fuzz';
import { tinyEditConfig } from '../../test/tinyEdit';
import type { ClipVisionTower } from '../clip/vision';
import type { Engine } from '../gpu/engine';
import { encodeSafetensors } from '../nn/safetensors';
import type { EditConfig } from './config';
import { EditJob } from './job';
import {
  jobSessionMetadata,
  readJobSession,
  SESSION_FORMAT,
  SessionRestoreError,
  sessionTensors,
  type JobSessionState,
} from './jobSession';
import type { TextEncoderLike } from './targets';

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function state(overrides: Partial<JobSessionState> = {}): JobSessionState {
  return {
    config: tinyEditConfig({ nEpochs: 10, seed: 7 }),
    step: 4,
    optimizerSteps: 4,
    rng: 12345,
    datasetStep: 3,
    ...overrides,
  };
}

/** A session as EditJob.saveSession writes it (same names, shapes and metadata; values made up). */
function sessionBytes(meta: Record<string, string>, config: EditConfig = state().config): Uint8Array {
  const tensors = sessionTensors(config).map((t, k) => ({
    name: t.name,
    shape: t.shape,
    data: Float32Array.from({ length: size(t.shape) }, (_, i) => Math.cos(i + k) * 0.1),
  }));
  return encodeSafetensors(tensors, meta);
}

const validMeta = () => jobSessionMetadata(state());

function expectRestoreError(bytes: Uint8Array, pattern: RegExp): void {
  let error: unknown = null;
  try {
    readJobSession(bytes);
  } catch (e) {
    error = e;
  }
  expect(error, `${pattern}`).toBeInstanceOf(SessionRestoreError);
  expect((error as Error).message).toMatch(pattern);
}

/** Any use of it fails the test: restore must reject a bad session before touching the GPU or the models. */
function trap<T>(what: string): T {
  return new Proxy(
    {},
    {
      get: (_t, key) => {
        throw new Error(`${what}.${String(key)} was used`);
      },
    },
  ) as T;
}

describe('job session', () => {
  it('reads what it writes: settings, counters, checked tensors', () => {
    const s = readJobSession(sessionBytes(validMeta()));
    expect(s.config).toEqual(state().config);
    expect([s.step, s.optimizerSteps, s.rng, s.datasetStep]).toEqual([4, 4, 12345, 3]);
    expect(s.tensors.tensors.size).toBe(sessionTensors(s.config).length);
    // A fresh job (no step yet) has dataset step −1.
    expect(
      readJobSession(sessionBytes(jobSessionMetadata(state({ step: 0, optimizerSteps: 0, datasetStep: -1 }))))
        .datasetStep,
    ).toBe(-1);
  });

  it('names bad metadata: format, settings JSON, settings values, counters', () => {
    const cases: Array<[Record<string, string | undefined>, RegExp]> = [
      [{ format: undefined }, /not a Text2LIVE session \(it has no format field/],
      [{ format: 'text2live-session-v2' }, /its format is "text2live-session-v2"; expected "text2live-session-v1"/],
      [{ config: undefined }, /no settings/],
      [{ config: '{"lr": 0.0025' }, /settings are not valid JSON/],
      [{ config: 'null' }, /settings|session/],
      [{ config: '[1,2]' }, /settings are invalid. Invalid edit configuration: \(config\)/],
      [{ config: '{"lr": -1}' }, /settings are invalid.*lr/],
      [{ config: '{"noSuchKey": 1}' }, /settings are invalid.*noSuchKey/],
      [{ config: '{"optimizer": "sgd"}' }, /settings are invalid.*optimizer/],
      [{ step: undefined }, /no "step"/],
      [{ step: 'abc' }, /"step" \(steps done\) is "abc", not a whole number/],
      [{ step: '' }, /"step" .* is "", not a whole number/],
      [{ step: '1e3' }, /not a whole number/],
      [{ step: ' 3' }, /not a whole number/],
      [{ step: '0x10' }, /not a whole number/],
      [{ step: '4.5' }, /not a whole number/],
      [{ step: '99999999999999999999' }, /not a whole number/],
      [{ step: '11' }, /"step" \(steps done\) is 11, outside 0\.\.10/],
      [{ step: '-1' }, /outside 0\.\.10/],
      [{ optimizerSteps: '1000000' }, /"optimizerSteps".*outside/],
      [{ rng: '4294967296' }, /"rng".*outside 0\.\.4294967295/],
      [{ datasetStep: '-2' }, /"datasetStep".*outside -1\.\.10/],
    ];
    for (const [change, pattern] of cases) {
      const meta: Record<string, string> = { ...validMeta() };
      for (const [k, v] of Object.entries(change)) {
        if (v === undefined) delete meta[k];
        else meta[k] = v;
      }
      expectRestoreError(sessionBytes(meta), pattern);
    }
    // Settings valid for the config module but not for a generator (no 1×1 skip channels).
    const noSkip = { ...state().config, skipN11: 0 };
    expectRestoreError(sessionBytes({ ...validMeta(), config: JSON.stringify(noSkip) }), /describe no valid generator/);
  });

  it('names tensors that do not fit the settings', () => {
    const config = state().config;
    // Saved by Adam, settings say MADGRAD.
    const adam = sessionBytes(validMeta(), { ...config, optimizer: 'adam' });
    expectRestoreError(adam, /do not match its settings.*no tensor "optim\.levels\.0\.skip\.conv\.weight\.s"/);
    // A generator of other widths than the settings say.
    const wider = sessionBytes(validMeta(), { ...config, skipN33d: 16 });
    expectRestoreError(wider, /do not match its settings.*has shape \[16,3,3,3\] in the file but \[8,3,3,3\] here/);
    expectRestoreError(encodeSafetensors([], validMeta()), /no tensor "levels\.0\.skip\.conv\.weight"/);
    expectRestoreError(
      rawSafetensors({ __metadata__: validMeta() }, new Uint8Array(0), 100_000n),
      /damaged.*truncated: header claims 100000 bytes/,
    );
    expectRestoreError(
      new TextEncoder().encode('just some text, not a session'),
      /not a Text2LIVE session, or it is damaged/,
    );
  });

  it('rejects every truncation and bit flips with SessionRestoreError', async () => {
    const valid = sessionBytes(validMeta());
    const header = Number(new DataView(valid.buffer).getBigUint64(0, true)) + 8;
    const cases = [
      ...truncations(valid, 600),
      ...bitFlips(valid, 1500, 21, { range: [0, header] }),
      ...bitFlips(valid, 300, 22, { range: [header, valid.length], maxBits: 1 }),
    ];
    const report = await fuzz(cases, readJobSession, { accept: (e) => e instanceof SessionRestoreError });
    expect(report.failures).toEqual([]);
    expect(report.totalMs).toBeLessThan(10_000);
    expect(report.rejected).toBeGreaterThan(600);
  });

  it('EditJob.restore fails before using the GPU, the image or the models', async () => {
    const opts = {
      engine: trap<Engine>('engine'),
      vision: trap<ClipVisionTower>('vision'),
      text: trap<TextEncoderLike>('text'),
      image: trap<{ width: number; height: number; data: Uint8ClampedArray }>('image'),
      config: state().config,
    };
    const bad = [
      sessionBytes({ ...validMeta(), step: '1000000000000000' }),
      sessionBytes({ ...validMeta(), format: 'other' }),
      sessionBytes({ ...validMeta(), config: '{' }),
      sessionBytes(validMeta(), { ...state().config, numScales: 3 }),
      sessionBytes(validMeta()).subarray(0, 100),
    ];
    for (const session of bad) {
      const r = await rejection(() => EditJob.restore({ ...opts, session }));
      expect(r.error).toBeInstanceOf(SessionRestoreError);
    }
    expect(SESSION_FORMAT).toBe('text2live-session-v1');
  });
});

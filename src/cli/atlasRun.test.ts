/**
 * `text2live atlas` in-process on a tiny clip (test/syntheticClip.ts written as a DAVIS-style frames/ + masks/
 * folder, 48×32, 6 frames): two iterations of a small config, every output file at the right size, log.json with
 * every term and the PSNR per logged iteration, a stop (Ctrl-C as an AbortSignal) that writes what it has, and the
 * mask choice. Kept to a few SwiftShader iterations.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { testEngine } from '../../test/gpu';
import { syntheticClip } from '../../test/syntheticClip';
import { encodePng } from '../edit/imageIO.node.js';
import type { Engine } from '../gpu/engine';
import { readAtlasInfo } from '../video/atlas/atlasFile';
import { clipFlows } from '../video/atlas/clipData';
import { ATLAS_TERMS } from '../video/atlas/atlasLosses';
import type { VideoClip } from '../video/media/videoClip';
import { parseAtlasArgs } from './atlasCommand';
import { chooseMasks } from './atlasMasks';
import { atlasProgressLine, runAtlas, type AtlasRunLog } from './runAtlas';

const SOURCE = syntheticClip({ frames: 6 });

/** clip/frames/00000.png … and clip/masks/00000.png … */
async function writeClipFolder(root: string): Promise<string> {
  const frames = join(root, 'clip', 'frames');
  const masks = join(root, 'clip', 'masks');
  mkdirSync(frames, { recursive: true });
  mkdirSync(masks, { recursive: true });
  for (let t = 0; t < SOURCE.frames.length; t++) {
    const name = `${String(t).padStart(5, '0')}.png`;
    writeFileSync(join(frames, name), await encodePng(SOURCE.frames[t]));
    const m = SOURCE.masks[t];
    const data = new Uint8ClampedArray(4 * m.length);
    for (let k = 0; k < m.length; k++) data.fill(m[k], 4 * k, 4 * k + 3).fill(255, 4 * k + 3, 4 * k + 4);
    writeFileSync(join(masks, name), await encodePng({ width: SOURCE.width, height: SOURCE.height, data }));
  }
  return frames;
}

/** A fit small enough for a software GPU. */
const TINY = {
  batch: 512,
  rigidityBatch: 128,
  flowBatch: 256,
  mappingWidth: 16,
  alphaWidth: 16,
  backgroundResolution: 64,
  foregroundResolution: 32,
  bootstrapIterations: 1,
  globalRigidityPixels: 4,
};

const size = async (path: string) => {
  const m = await sharp(path).metadata();
  return [m.width, m.height];
};

describe('text2live atlas: the run', () => {
  it('fits a tiny clip and writes the atlas, rasters, every frame, and the log; a stop writes what it has', async () => {
    const engine: Engine = await testEngine();
    const root = mkdtempSync(join(tmpdir(), 't2l-atlas-'));
    const clip = await writeClipFolder(root);
    const config = join(root, 'tiny.json');
    writeFileSync(config, JSON.stringify(TINY));
    const quiet = { log: () => {}, progress: () => {}, signal: new AbortController().signal, engine };

    // Frames 1–4 of 6, bounded to 64×20: the 48×32 frames come out 30×20 (aspect kept, imported again to fit).
    const out = join(root, 'out');
    const args = [clip, '--start', '1', '--frames', '4', '--size', '64x20', '--iters', '2', '--log-every', '1'];
    const lines: string[] = [];
    const done = await runAtlas(parseAtlasArgs([...args, '--config', config, '--seed', '3', '--out', out])!, {
      ...quiet,
      progress: (l) => lines.push(l),
    });
    expect(done).toMatchObject({ interrupted: false, iterations: 2, totalIterations: 2, masks: 'given' });
    expect([done.width, done.height]).toEqual([30, 20]);
    expect(lines.some((l) => /iteration 2\/2 .*it\/s .*ETA .*PSNR \d+\.\d+ dB/.test(l))).toBe(true);

    const info = readAtlasInfo(readFileSync(join(out, 'atlas.safetensors')));
    expect(info).toMatchObject({ iterations: 2, frameIndices: [1, 2, 3, 4], geometry: { width: 30, height: 20 } });
    expect(info.config).toMatchObject({ ...TINY, seed: 3, iterations: 2, backgroundOnly: false });
    expect(await size(join(out, 'atlas', 'background.png'))).toEqual([64, 64]);
    expect(await size(join(out, 'atlas', 'foreground.png'))).toEqual([32, 32]);
    const names = ['00001.png', '00002.png', '00003.png', '00004.png'];
    for (const kind of ['reconstruction', 'alpha']) {
      expect(readdirSync(join(out, kind)).sort()).toEqual(names);
      for (const n of names) expect(await size(join(out, kind, n))).toEqual([30, 20]);
    }
    expect(readdirSync(out).filter((f) => f.endsWith('.partial'))).toEqual([]);
    const log = JSON.parse(readFileSync(join(out, 'log.json'), 'utf8')) as AtlasRunLog;
    expect(log).toMatchObject({ iterations: 2, totalIterations: 2, interrupted: false, masks: { kind: 'given' } });
    expect(log.clip).toMatchObject({ width: 30, height: 20, frames: 4, frameIndices: [1, 2, 3, 4] });
    expect(log.log.map((e) => e.iteration)).toEqual([1, 2]);
    for (const e of log.log) {
      expect(Object.keys(e.terms)).toEqual([...ATLAS_TERMS]);
      for (const k of ATLAS_TERMS) expect(Number.isFinite(e.terms[k]), k).toBe(true);
      expect(e.psnr).toBeGreaterThan(5);
    }
    expect(log.log[1].terms.globalRigidity).toBe(0); // the bootstrap (1 iteration) is over

    // Ctrl-C during the first iteration, background only: the fit stops after it and writes everything for it.
    const stopped = join(root, 'stopped');
    const abort = new AbortController();
    const r = await runAtlas(
      parseAtlasArgs([
        clip,
        '--frames',
        '3',
        '--background-only',
        '--iters',
        '5',
        '--config',
        config,
        '--out',
        stopped,
      ])!,
      {
        ...quiet,
        progress: (l) => (l.startsWith('█') || l.startsWith('░') ? abort.abort() : undefined),
        signal: abort.signal,
      },
    );
    expect(r).toMatchObject({ interrupted: true, iterations: 1, totalIterations: 5, masks: 'none' });
    expect([r.width, r.height]).toEqual([48, 32]);
    expect(readAtlasInfo(readFileSync(join(stopped, 'atlas.safetensors'))).iterations).toBe(1);
    expect(readdirSync(join(stopped, 'atlas'))).toEqual(['background.png']);
    expect(readdirSync(join(stopped, 'reconstruction')).sort()).toEqual(['00000.png', '00001.png', '00002.png']);
    expect(readdirSync(join(stopped, 'alpha'))).toHaveLength(3);
    const stoppedLog = JSON.parse(readFileSync(join(stopped, 'log.json'), 'utf8')) as AtlasRunLog;
    expect(stoppedLog).toMatchObject({ iterations: 1, interrupted: true, masks: { kind: 'none' } });
    expect(stoppedLog.log.map((e) => e.iteration)).toEqual([1]);
  });

  it('uses the masks given, else motion masks when they find the object, else none', async () => {
    const engine = await testEngine();
    const clip = {
      width: SOURCE.width,
      height: SOURCE.height,
      frames: SOURCE.frames,
      masks: SOURCE.masks,
    } as VideoClip;
    const flows = clipFlows(engine, clip);
    try {
      const given = await chooseMasks('given-or-automatic', engine, flows, clip);
      expect(given).toMatchObject({ kind: 'given', masks: SOURCE.masks, reason: expect.stringMatching(/masks given/) });
      // The disc moves against the panning background: motion masks find it (the given masks are not used).
      const found = await chooseMasks('automatic', engine, flows, clip);
      expect(found.kind).toBe('automatic');
      const masks = found.kind === 'automatic' ? found.masks : [];
      let inter = 0;
      let union = 0;
      masks.forEach((m, t) =>
        m.forEach((v, k) => {
          const truth = SOURCE.masks[t][k] !== 0;
          if (v && truth) inter++;
          if (v || truth) union++;
        }),
      );
      console.log(`motion masks of the synthetic clip: IoU ${(inter / union).toFixed(3)} against the disc`);
      expect(inter / union).toBeGreaterThan(0.5);
      const empty = { ...clip, masks: SOURCE.masks.map((m) => new Uint8Array(m.length)) };
      expect(await chooseMasks('given-or-automatic', engine, flows, empty)).toEqual({
        kind: 'none',
        reason: expect.stringMatching(/masks given with the clip are empty/),
      });
      expect((await chooseMasks('none', engine, flows, clip)).kind).toBe('none');
    } finally {
      for (const t of Object.values(flows)) t.release();
    }
  });

  it('draws the progress line with the iteration, speed, ETA and PSNR', () => {
    const line = atlasProgressLine({
      iteration: 30,
      total: 120,
      seconds: 60,
      iterationsPerSecond: 0.5,
      last: { iteration: 30, seconds: 60, psnr: 21.456, terms: {} as never },
    });
    expect(line).toBe(`${'█'.repeat(6)}${'░'.repeat(18)} iteration 30/120  0.50 it/s  ETA 3m00s  PSNR 21.46 dB`);
  });
});

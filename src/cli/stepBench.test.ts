import { describe, expect, it } from 'vitest';
import { testEngine } from '../../test/gpu';
import { tinyEditConfig } from '../../test/tinyEdit';
import { readImageFile } from '../edit/imageIO.node.js';
import { QUALITY_SETTINGS } from '../edit/quality';
import { add } from '../ops/elementwise';
import { BenchUsageError } from './benchArgs';
import {
  benchSteps,
  DEFAULT_STEP_IMAGE,
  parseStepBenchArgs,
  randomTextEncoder,
  readVisionWeights,
  type StepBenchResult,
} from './stepBench';

const parse = (s: string) => parseStepBenchArgs(s.split(' ').filter(Boolean));

describe('parseStepBenchArgs', () => {
  it('takes the defaults and the documented options', () => {
    expect(parse('--quality reference')).toEqual({
      quality: 'reference',
      size: undefined,
      image: DEFAULT_STEP_IMAGE,
      steps: 1,
      viewChunk: 8,
      memoryOnly: false,
      warmup: 'real',
      bootstrap: true,
      seed: 1,
    });
    expect(
      parse(
        '--quality preview --size 160 --image synthetic --steps 2 --view-chunk 2 --memory-only --warmup memory-only ' +
          '--no-bootstrap --seed 7 --model models/tiny-clip --json out.json',
      ),
    ).toEqual({
      quality: 'preview',
      size: 160,
      image: 'synthetic',
      steps: 2,
      viewChunk: 2,
      memoryOnly: true,
      warmup: 'memory-only',
      bootstrap: false,
      seed: 7,
      model: 'models/tiny-clip',
      json: 'out.json',
    });
    expect(parse('--help')).toBeNull();
  });

  it.each([
    ['', /^--quality is required/],
    ['--quality best', /^--quality must be one of preview, standard, reference, got "best"$/],
    ['--quality preview --steps 0', /^--steps must be a positive integer/],
    ['--quality preview --steps 300', /^--steps must be below the level's 300 steps/],
    ['--quality preview --view-chunk x', /^--view-chunk must be a positive integer/],
    ['--quality preview --warmup none', /^--warmup must be "real" or "memory-only"/],
    ['--quality preview --model /nonexistent', /config\.json does not exist/],
    ['--quality preview --image /nonexistent.png', /does not exist \(or use --image synthetic\)/],
    ['--quality preview --iters 2', /^unknown option --iters$/],
  ])('rejects %j', (args, message) => {
    expect(() => parse(args)).toThrow(BenchUsageError);
    expect(() => parse(args)).toThrow(message);
  });
});

describe('randomTextEncoder', () => {
  it('gives fixed unit vectors, one per prompt', async () => {
    const text = randomTextEncoder(16);
    const [a, b] = await text.encode(['a dog', 'a cat']);
    const [a2] = await randomTextEncoder(16).encode(['a dog']);
    expect(a.length).toBe(16);
    expect(Math.hypot(...a)).toBeCloseTo(1, 5);
    expect(Array.from(a2)).toEqual(Array.from(a));
    expect(Array.from(b)).not.toEqual(Array.from(a));
  });
});

describe('engine.skipKernels', () => {
  it('counts and binds dispatches but runs none; reads give zeros', async () => {
    const engine = await testEngine();
    const x = engine.fromArray([4], [1, 2, 3, 4]).keep();
    const count = engine.dispatchCount;
    engine.skipKernels = true;
    try {
      const y = add(x, x);
      expect(engine.dispatchCount).toBe(count + 1);
      expect(Array.from(await y.read())).toEqual([0, 0, 0, 0]);
      y.release();
    } finally {
      engine.skipKernels = false;
    }
    const y = add(x, x);
    expect(Array.from(await y.read())).toEqual([2, 4, 6, 8]);
    y.release();
    x.release();
  });
});

describe('step benchmark on the tiny CLIP', () => {
  it('measures the same pool peaks with and without kernels', async () => {
    const engine = await testEngine();
    const weights = readVisionWeights('models/tiny-clip');
    const image = await readImageFile(DEFAULT_STEP_IMAGE);
    // A tiny but complete edit (job.test.ts's): small generator, 2 views, bootstrap, a full-image step every 2.
    // The memory-only run must allocate, release and peak exactly like the real one, step by step.
    const baseConfig = tinyEditConfig({
      seed: 5,
      sourceImageEvery: 2,
      bootstrapText: 'dog',
      bootstrapEpoch: 3,
      nEpochs: 3,
    });
    const level = { ...QUALITY_SETTINGS.preview, size: 40, steps: 3, views: 2 };
    const run = (memoryOnly: boolean) =>
      benchSteps({
        engine,
        weights,
        weightsLabel: 'tiny',
        image,
        imageLabel: 'dog',
        level,
        baseConfig,
        steps: 1,
        viewChunk: 2,
        memoryOnly,
      });
    const peaks = (r: StepBenchResult) =>
      r.samples.map((x) => ({
        step: x.step,
        full: x.fullImageStep,
        crop: x.crop,
        live: x.peakLiveBytes,
        allocated: x.peakAllocatedBytes,
        dispatches: x.dispatches,
      }));

    const real = await run(false);
    const memory = await run(true);
    // Step 0 is a full-image step (crop + whole image), step 1 a crop step.
    expect(real.samples.map((x) => x.fullImageStep)).toEqual([true, false]);
    expect(real.samples[1].peakLiveBytes).toBeGreaterThan(real.persistentBytes);
    expect(peaks(memory)).toEqual(peaks(real));
    expect(memory.peakLiveBytesAll).toBe(real.peakLiveBytesAll);
    // The real run trained (finite, non-zero losses); the memory-only one read zeros and did not break.
    for (const x of real.samples) expect(Number.isFinite(x.loss) && x.loss !== 0).toBe(true);
    for (const x of memory.samples) expect(x.loss).toBe(0);
    expect(real.samples.every((x) => x.kernels && x.gflops !== null && x.gflops > 0)).toBe(true);
    expect(memory.samples.every((x) => !x.kernels && x.gflops === null)).toBe(true);
    expect(engine.skipKernels).toBe(false);
    // Everything the runs created was released.
    expect(engine.pool.stats().liveBytes).toBe(0);
  });
});

/**
 * Benchmarks on whatever WebGPU adapter Node finds (SwiftShader on GPU-less machines, a real GPU
 * elsewhere). Prints timings and never judges them.
 *
 *   npm run bench -- generator --size 512 [--height H --width W] [--iters 3] [--warmup 1]
 *                              [--scales 7] [--channels 128] [--json results.json]
 *   npm run bench -- clip [--views 16] [--size 224] [--model DIR] [--iters 3] [--warmup 1] [--seed 1234]
 *                         [--no-ort] [--ort-device shared|own] [--json results.json]
 *
 *   npm run bench -- video-step --quality tiny|preview|standard|reference [--layer background|foreground]
 *                               [--size 768x432] [--frames 10] [--pan 8] [--memory-only] [--json results.json]
 *
 *   npm run bench -- flow [--frames DIR] [--size 384x216] [--frames-count 50] [--json results.json]
 *
 *   npm run bench -- atlas [--frames DIR] [--masks given|DIR|auto|none] [--size 384x216] [--iters 3000]
 *                          [--log-every 100] [--out DIR] [--eval-only DIR/atlas.safetensors] [--json results.json]
 *
 *   npm run bench -- masks [--frames DIR] [--masks DIR] [--size 384x216] [--frames-count 50] [--json results.json]
 *
 *   npm run bench -- step --quality preview|standard|reference [--size N] [--model DIR] [--steps N]
 *                         [--view-chunk N] [--memory-only] [--image FILE|synthetic] [--json results.json]
 *
 * `clip` (clipBench.ts): a ViT-B/32-sized CLIP vision tower, random weights drawn in TypeScript, or the ONNX file
 * of `--model DIR` (tools/make_clip_like.py writes one); with `--model`, the same forward through onnxruntime-web's
 * WebGPU EP on the same device, with the ratio. `step` (stepBench.ts): one EditJob training step at a quality
 * level (ms, GFLOP/s, pool peak); `--memory-only` measures the peak without running kernels.
 */
import { writeFileSync } from 'node:fs';
import type { Engine } from '../gpu/engine';
import { formatBytes } from '../gpu/formatBytes';
import { nodeEngine } from '../gpu/node';
import { Tape } from '../gpu/tape';
import { DEFAULT_SKIP_CONFIG, generatorMacs, SkipGenerator } from '../nn/skip';
import { mean } from '../ops/reduce';
import { BenchUsageError, GENERATOR_BENCH_USAGE, parseGeneratorBenchArgs } from './benchArgs';
import { adapterLabel, median, timeIt } from './benchCommon';
import { CLIP_BENCH_USAGE, runClipBench } from './clipBench';
import { ATLAS_BENCH_USAGE, runAtlasBench } from './atlasBench';
import { FLOW_BENCH_USAGE, runFlowBench } from './flowBench';
import { MASKS_BENCH_USAGE, runMasksBench } from './masksBench';
import { runStepBench, STEP_BENCH_USAGE } from './stepBench';
import { runVideoStepBench, VIDEO_STEP_BENCH_USAGE } from './videoStepBench';

interface GeneratorBenchResult {
  adapter: string;
  height: number;
  width: number;
  parameters: number;
  forwardGflop: number;
  forwardMs: number;
  forwardBackwardMs: number;
  forwardGflops: number;
  forwardBackwardGflops: number;
  peakAllocatedBytes: number;
  peakLiveBytes: number;
  dispatchesPerStep: number;
}

/** Runs fn `warmup` times untimed, then `iters` times timed, each on its own (fn, then engine.sync()), logging each. */
async function timedRuns(
  engine: Engine,
  label: string,
  iters: number,
  warmup: number,
  log: (line: string) => void,
  fn: () => void,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < warmup + iters; i++) {
    const [ms] = await timeIt(engine, 1, 0, fn);
    const which = i < warmup ? `warm-up ${i + 1}/${warmup}` : `${i - warmup + 1}/${iters}`;
    log(`${label} ${which}: ${(ms / 1000).toFixed(1)} s`);
    if (i >= warmup) times.push(ms);
  }
  return times;
}

export async function benchGenerator(opts: {
  height: number;
  width: number;
  iters: number;
  warmup: number;
  scales: number;
  channels: number;
  /** Progress lines (each iteration's time as it finishes); default: none. */
  log?: (line: string) => void;
}): Promise<GeneratorBenchResult> {
  const log = opts.log ?? (() => undefined);
  const engine = await nodeEngine();
  const cfg = { ...DEFAULT_SKIP_CONFIG, scales: opts.scales, down: opts.channels, up: opts.channels };
  const gen = SkipGenerator.create(engine, cfg, 1);
  const { height: h, width: w } = opts;
  const pixels = new Float32Array(3 * h * w);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (Math.sin(i * 12.9898) * 43758.5453) % 1;
  const input = engine.fromArray([1, 3, h, w], pixels.map(Math.abs)).keep();

  log(
    `generator ${w}×${h}, ${gen.parameterCount.toLocaleString('en-US')} parameters, ${opts.warmup} warm-up + ${opts.iters} timed runs each`,
  );
  const forwardTimes = await timedRuns(engine, 'forward', opts.iters, opts.warmup, log, () => {
    engine.tidy(() => engine.noGrad(() => gen.forward(input)));
  });
  engine.pool.resetPeak();
  let stepDispatches = 0;
  const stepTimes = await timedRuns(engine, 'forward + backward', opts.iters, opts.warmup, log, () => {
    const start = engine.dispatchCount;
    engine.tidy(() => {
      const tape = Tape.start(engine);
      const loss = mean(gen.forward(input));
      tape.backward(loss);
    });
    stepDispatches = engine.dispatchCount - start;
  });
  const stats = engine.pool.stats();
  const macs = generatorMacs(cfg, h, w);
  const s = engine.ctx.summary;
  const result: GeneratorBenchResult = {
    adapter: adapterLabel(s),
    height: h,
    width: w,
    parameters: gen.parameterCount,
    forwardGflop: (2 * macs) / 1e9,
    forwardMs: median(forwardTimes),
    forwardBackwardMs: median(stepTimes),
    forwardGflops: (2 * macs) / 1e6 / median(forwardTimes),
    // Backward = input and weight gradients = 2× the forward's FLOPs (spec §E).
    forwardBackwardGflops: (6 * macs) / 1e6 / median(stepTimes),
    peakAllocatedBytes: stats.peakAllocatedBytes,
    peakLiveBytes: stats.peakLiveBytes,
    dispatchesPerStep: stepDispatches,
  };
  input.release();
  gen.dispose();
  engine.destroy();
  return result;
}

function stamp(line: string): void {
  console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
}

async function runGeneratorBench(args: readonly string[]): Promise<void> {
  const opts = parseGeneratorBenchArgs(args);
  if (!opts) {
    console.log(GENERATOR_BENCH_USAGE);
    return;
  }
  const r = await benchGenerator({ ...opts, log: stamp });
  console.log(`adapter: ${r.adapter}`);
  console.log(`generator ${r.width}×${r.height}, ${r.parameters.toLocaleString('en-US')} parameters`);
  console.log(
    `  forward:            ${r.forwardMs.toFixed(1)} ms  (${r.forwardGflop.toFixed(1)} GFLOP, ${r.forwardGflops.toFixed(2)} GFLOP/s)`,
  );
  console.log(
    `  forward + backward: ${r.forwardBackwardMs.toFixed(1)} ms  (${(3 * r.forwardGflop).toFixed(1)} GFLOP, ${r.forwardBackwardGflops.toFixed(2)} GFLOP/s, ${r.dispatchesPerStep} dispatches)`,
  );
  console.log(
    `  peak GPU bytes:     ${formatBytes(r.peakAllocatedBytes)} allocated, ${formatBytes(r.peakLiveBytes)} live`,
  );
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ benchmark: 'generator', ...r }, null, 2));
}

/** The usage text printed with a BenchUsageError: the chosen benchmark's. */
let usage = GENERATOR_BENCH_USAGE;

async function main(argv: readonly string[]): Promise<void> {
  // The benchmark's name comes first; without one, `generator`. Its options are validated before any GPU work.
  const named = argv.length > 0 && !argv[0].startsWith('-');
  const what = named ? argv[0] : 'generator';
  if (what === 'generator') return runGeneratorBench(named ? argv.slice(1) : argv);
  if (what === 'clip') {
    usage = CLIP_BENCH_USAGE;
    return runClipBench(named ? argv.slice(1) : argv, stamp);
  }
  if (what === 'step') {
    usage = STEP_BENCH_USAGE;
    return runStepBench(named ? argv.slice(1) : argv, stamp);
  }
  if (what === 'video-step') {
    usage = VIDEO_STEP_BENCH_USAGE;
    return runVideoStepBench(named ? argv.slice(1) : argv, stamp);
  }
  if (what === 'flow') {
    usage = FLOW_BENCH_USAGE;
    return runFlowBench(named ? argv.slice(1) : argv, stamp);
  }
  if (what === 'atlas') {
    usage = ATLAS_BENCH_USAGE;
    return runAtlasBench(named ? argv.slice(1) : argv, stamp);
  }
  if (what === 'masks') {
    usage = MASKS_BENCH_USAGE;
    return runMasksBench(named ? argv.slice(1) : argv, stamp);
  }
  throw new BenchUsageError(
    `unknown benchmark "${what}" (available: generator, clip, step, video-step, flow, atlas, masks)`,
  );
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e: unknown) => {
    if (e instanceof BenchUsageError) console.error(`bench: ${e.message}\n\n${usage}`);
    else console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);

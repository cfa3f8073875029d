/**
 * Benchmarks on whatever WebGPU adapter Node finds (SwiftShader on GPU-less machines, a real GPU
 * elsewhere). Prints timings and never judges them.
 *
 *   npm run bench -- generator --size 512 [--height H --width W] [--iters 3] [--warmup 1]
 *                              [--scales 7] [--channels 128] [--json results.json]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Engine } from '../gpu/engine';
import { formatBytes } from '../gpu/errors';
import { nodeEngine } from '../gpu/node';
import { Tape } from '../gpu/tape';
import { DEFAULT_SKIP_CONFIG, generatorMacs, SkipGenerator } from '../nn/skip';
import { mean } from '../ops/reduce';

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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timeIt(engine: Engine, iters: number, warmup: number, fn: () => void): Promise<number[]> {
  for (let i = 0; i < warmup; i++) {
    fn();
    await engine.sync();
  }
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    fn();
    await engine.sync();
    times.push(performance.now() - t0);
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
}): Promise<GeneratorBenchResult> {
  const engine = await nodeEngine();
  const cfg = { ...DEFAULT_SKIP_CONFIG, scales: opts.scales, down: opts.channels, up: opts.channels };
  const gen = SkipGenerator.create(engine, cfg, 1);
  const { height: h, width: w } = opts;
  const pixels = new Float32Array(3 * h * w);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (Math.sin(i * 12.9898) * 43758.5453) % 1;
  const input = engine.fromArray([1, 3, h, w], pixels.map(Math.abs)).keep();

  const forwardTimes = await timeIt(engine, opts.iters, opts.warmup, () => {
    engine.tidy(() => engine.noGrad(() => gen.forward(input)));
  });
  engine.pool.resetPeak();
  const before = engine.dispatchCount;
  let stepDispatches = 0;
  const stepTimes = await timeIt(engine, opts.iters, opts.warmup, () => {
    const start = engine.dispatchCount;
    engine.tidy(() => {
      const tape = Tape.start(engine);
      const loss = mean(gen.forward(input));
      tape.backward(loss);
    });
    stepDispatches = engine.dispatchCount - start;
  });
  void before;
  const stats = engine.pool.stats();
  const macs = generatorMacs(cfg, h, w);
  const s = engine.ctx.summary;
  const result: GeneratorBenchResult = {
    adapter: `${s.vendor} ${s.architecture} ${s.description}`.trim() + (s.isFallbackAdapter ? ' (fallback)' : ''),
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

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      size: { type: 'string' },
      height: { type: 'string' },
      width: { type: 'string' },
      iters: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '1' },
      scales: { type: 'string', default: String(DEFAULT_SKIP_CONFIG.scales) },
      channels: { type: 'string', default: String(DEFAULT_SKIP_CONFIG.down) },
      json: { type: 'string' },
    },
  });
  const what = positionals[0] ?? 'generator';
  if (what !== 'generator') {
    throw new Error(`unknown benchmark "${what}" (available: generator)`);
  }
  const size = Number(values.size ?? 512);
  const r = await benchGenerator({
    height: Number(values.height ?? size),
    width: Number(values.width ?? size),
    iters: Number(values.iters),
    warmup: Number(values.warmup),
    scales: Number(values.scales),
    channels: Number(values.channels),
  });
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
  if (values.json) writeFileSync(values.json, JSON.stringify({ benchmark: 'generator', ...r }, null, 2));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);

/**
 * CLIP vision-tower benchmark: a ViT-B/32-sized tower (real dimensions, random weights) on our engine, forward and
 * forward + backward to the pixels, and — with `--model DIR` — the same forward through onnxruntime-web's WebGPU
 * execution provider on the same WebGPU device, in the same process.
 *
 * Our side needs no file: without `--model` the weights are drawn here (randomVisionWeights, the initialisation of
 * tools/make_tiny_clip.py) for the Hugging Face CLIPVisionConfig defaults (= ViT-B/32). With `--model DIR`
 * (`DIR/config.json` + `DIR/onnx/vision_model.onnx`, e.g. written by tools/make_clip_like.py) both sides run the
 * weights of that file, and their embeddings are compared.
 *
 * onnxruntime-web in Node: its WebGPU build (`onnxruntime-web/webgpu`, 1.30: the native WebGPU EP compiled to
 * wasm with Asyncify) looks for `navigator.gpu`, which Node lacks; we provide the `webgpu` package's GPU object
 * there, and hand ORT our engine's GPUDevice as its EP device (`{ name: 'webgpu', device }`, `--ort-device own`
 * lets ORT request its own device from the same adapter instead). One incompatibility is patched: ORT uploads from
 * views of its SharedArrayBuffer-backed wasm memory, which Dawn's `queue.writeBuffer` in Node rejects
 * ("Invalid argument"); such sources are copied into an ordinary buffer first.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseOnnx } from '../clip/onnx';
import { ClipVisionTower } from '../clip/vision';
import {
  extractVisionWeights,
  type LayerNormWeights,
  type LinearWeights,
  type VisionConfig,
  visionConfigFromJson,
  type VisionWeights,
  type WeightTensor,
} from '../clip/visionWeights';
import { clipVitMacs } from '../edit/quality';
import { formatBytes } from '../gpu/formatBytes';
import { nodeEngine, nodeGpu } from '../gpu/node';
import { Tape } from '../gpu/tape';
import { Rng } from '../nn/rng';
import { sphericalDistance } from '../ops/clipLoss';
import { mean } from '../ops/reduce';
import { BenchUsageError, integerOption, parseBenchOptions } from './benchArgs';
import { adapterLabel, median, timeIt } from './benchCommon';

type OrtModule = typeof import('onnxruntime-web/webgpu');

// ---------------------------------------------------------------------------------------------------------------
// Model: random weights and FLOPs
// ---------------------------------------------------------------------------------------------------------------

/**
 * Random vision-tower weights with the initialisation of tools/make_tiny_clip.py (activations stay O(1)):
 * Linear weights N(0, 1/fan_in), biases N(0, 0.1²), LayerNorm γ = 1 + N(0, 0.2²) and β = N(0, 0.1²), class
 * embedding N(0, 1), positions N(0, 0.5²), patch embedding N(0, 1/(C·p²)). Seeded (mulberry32 + Box–Muller).
 */
export function randomVisionWeights(config: VisionConfig, seed = 1234): VisionWeights {
  const rng = new Rng(seed);
  const gauss = (shape: number[], std: number, offset = 0): WeightTensor => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const r = std * Math.sqrt(-2 * Math.log(1 - rng.next()));
      const phi = 2 * Math.PI * rng.next();
      data[i] = offset + r * Math.cos(phi);
      if (i + 1 < n) data[i + 1] = offset + r * Math.sin(phi);
    }
    return { shape, data };
  };
  const { hiddenSize: d, intermediateSize: ff, numChannels: ch, patchSize: p } = config;
  const grid = Math.floor(config.imageSize / p);
  const lin = (out: number, inp: number): LinearWeights => ({
    weight: gauss([out, inp], 1 / Math.sqrt(inp)),
    bias: gauss([out], 0.1),
  });
  const ln = (): LayerNormWeights => ({ weight: gauss([d], 0.2, 1), bias: gauss([d], 0.1), eps: config.layerNormEps });
  return {
    config,
    storedAs: 'float32',
    patchEmbedding: gauss([d, ch, p, p], 1 / Math.sqrt(ch * p * p)),
    classEmbedding: gauss([d], 1),
    positionEmbedding: gauss([1 + grid * grid, d], 0.5),
    preLayerNorm: ln(),
    layers: Array.from({ length: config.numHiddenLayers }, () => ({
      layerNorm1: ln(),
      qProj: lin(d, d),
      kProj: lin(d, d),
      vProj: lin(d, d),
      outProj: lin(d, d),
      layerNorm2: ln(),
      fc1: lin(ff, d),
      fc2: lin(d, ff),
    })),
    postLayerNorm: ln(),
    visualProjection: gauss([config.projectionDim, d], 1 / Math.sqrt(d)),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Benchmark
// ---------------------------------------------------------------------------------------------------------------

export interface ClipBenchOptions {
  views: number;
  /** Square view side; the config's image_size when undefined. */
  size?: number;
  iters: number;
  warmup: number;
  /** Folder with config.json and onnx/vision_model.onnx; random weights (ViT-B/32 config) when undefined. */
  model?: string;
  seed: number;
  /** Run onnxruntime-web too (needs `model`). */
  ort: boolean;
  /** 'shared': ORT runs on our engine's GPUDevice; 'own': ORT requests its own device from the same adapter. */
  ortDevice: 'shared' | 'own';
  /** Print progress lines to stderr. */
  log?: (line: string) => void;
}

export interface MemorySample {
  stage: string;
  rssBytes: number;
  heapUsedBytes: number;
  arrayBuffersBytes: number;
  /** Process peak RSS so far (getrusage). */
  maxRssBytes: number;
}

export interface OrtBenchResult {
  ok: boolean;
  error?: string;
  device?: 'shared' | 'own';
  sessionCreateMs?: number;
  forwardMs?: number;
  forwardGflops?: number;
  /** ORT buffers created on the device minus those destroyed: the most at any time during session creation + runs. */
  peakBufferBytes?: number;
  /** max |ORT − ours| over the image embeddings, and max |ORT| for scale. */
  maxAbsDiff?: number;
  maxAbs?: number;
  /** ours / ORT forward time (> 1: ORT is faster). */
  ratioOursOverOrt?: number;
}

export interface ClipBenchResult {
  adapter: string;
  weights: string;
  config: VisionConfig;
  parameters: number;
  views: number;
  height: number;
  width: number;
  tokens: number;
  loadMs: number;
  weightBytes: number;
  forwardGflop: number;
  forwardMs: number;
  forwardGflops: number;
  forwardPeakAllocatedBytes: number;
  forwardBackwardGflop: number;
  forwardBackwardMs: number;
  forwardBackwardGflops: number;
  forwardBackwardPeakAllocatedBytes: number;
  forwardBackwardPeakLiveBytes: number;
  dispatchesPerStep: number;
  loss: number;
  memory: MemorySample[];
  ort?: OrtBenchResult;
}

function memorySample(stage: string): MemorySample {
  const m = process.memoryUsage();
  return {
    stage,
    rssBytes: m.rss,
    heapUsedBytes: m.heapUsed,
    arrayBuffersBytes: m.arrayBuffers,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

/** Number of weights in a vision tower (every tensor of `w`). */
export function parameterCount(w: VisionWeights): number {
  let n = 0;
  const add = (t: WeightTensor) => (n += t.data.length);
  const lin = (l: LinearWeights) => (add(l.weight), add(l.bias));
  const ln = (l: LayerNormWeights) => (add(l.weight), add(l.bias));
  add(w.patchEmbedding);
  add(w.classEmbedding);
  add(w.positionEmbedding);
  ln(w.preLayerNorm);
  for (const l of w.layers) {
    ln(l.layerNorm1);
    [l.qProj, l.kProj, l.vProj, l.outProj, l.fc1, l.fc2].forEach(lin);
    ln(l.layerNorm2);
  }
  ln(w.postLayerNorm);
  add(w.visualProjection);
  return n;
}

export async function benchClip(opts: ClipBenchOptions): Promise<ClipBenchResult> {
  const log = opts.log ?? (() => {});
  const memory: MemorySample[] = [memorySample('start')];
  const engine = await nodeEngine();
  const t0 = performance.now();
  let weights: VisionWeights;
  let modelBytes: Uint8Array | null = null;
  let source: string;
  if (opts.model) {
    const config = visionConfigFromJson(JSON.parse(readFileSync(join(opts.model, 'config.json'), 'utf8')));
    const path = join(opts.model, 'onnx', 'vision_model.onnx');
    modelBytes = readFileSync(path);
    memory.push(memorySample('read ONNX file'));
    const parsed = parseOnnx(modelBytes);
    memory.push(memorySample('parse'));
    weights = extractVisionWeights(parsed, config);
    memory.push(memorySample('extract weights'));
    source = `${path} (${formatBytes(modelBytes.length)})`;
  } else {
    weights = randomVisionWeights(visionConfigFromJson({}), opts.seed);
    memory.push(memorySample('random weights'));
    source = `random (seed ${opts.seed}), Hugging Face CLIPVisionConfig defaults = ViT-B/32`;
  }
  const config = weights.config;
  const tower = new ClipVisionTower(engine, weights);
  await engine.sync();
  memory.push(memorySample('upload to GPU'));
  const loadMs = performance.now() - t0;
  const weightBytes = engine.pool.stats().liveBytes;
  log(`weights: ${source}, ${formatBytes(weightBytes)} on the GPU, loaded in ${(loadMs / 1000).toFixed(1)} s`);

  const size = opts.size ?? config.imageSize;
  const [v, h, w] = [opts.views, size, size];
  const shape = [v, config.numChannels, h, w];
  const rng = new Rng(opts.seed + 1);
  const pixels = rng.fill(v * config.numChannels * h * w, -1.8, 2.1); // the range of CLIP-normalized pixels
  const target = rng.fill(config.projectionDim, -1, 1);
  // Spec §E's ViT cost model, the one that prices the quality levels (ViT-B/32 at 224²: 8.82 GFLOP a view).
  const macs = clipVitMacs(h, w, undefined, true, config) * v;

  // Forward: upload the views, run, read the embeddings back (what an ORT session.run does).
  engine.pool.trim();
  engine.pool.resetPeak();
  let embeds: Float32Array = new Float32Array(0);
  log(`forward: ${v} views at ${w}×${h}, ${opts.warmup} warm-up + ${opts.iters} timed`);
  const forwardTimes = await timeIt(
    engine,
    opts.iters,
    opts.warmup,
    async () => {
      const out = engine.tidy(() => engine.noGrad(() => tower.forward(engine.fromArray(shape, pixels)).embeds!));
      embeds = await out.read();
      out.release();
    },
    (which, ms) => log(`forward ${which}: ${(ms / 1000).toFixed(1)} s`),
  );
  const forwardPeak = engine.pool.stats().peakAllocatedBytes;

  // Forward + backward to the pixels: mean spherical distance of the embeddings to a random target (spec §A.8).
  engine.pool.trim();
  engine.pool.resetPeak();
  let dispatches = 0;
  let loss = NaN;
  log(`forward + backward: ${opts.warmup} warm-up + ${opts.iters} timed`);
  const stepTimes = await timeIt(
    engine,
    opts.iters,
    opts.warmup,
    async () => {
      const start = engine.dispatchCount;
      const l = engine.tidy(() => {
        const x = engine.fromArray(shape, pixels);
        x.requiresGrad = true;
        const tape = Tape.start(engine);
        const y = engine.fromArray([1, target.length], target);
        const value = mean(sphericalDistance(tower.forward(x).embeds!, y));
        tape.backward(value);
        return value;
      });
      dispatches = engine.dispatchCount - start;
      loss = await l.item();
      l.release();
    },
    (which, ms) => log(`forward + backward ${which}: ${(ms / 1000).toFixed(1)} s`),
  );
  const stepStats = engine.pool.stats();

  const result: ClipBenchResult = {
    adapter: adapterLabel(engine.ctx.summary),
    weights: source,
    config,
    parameters: parameterCount(weights),
    views: v,
    height: h,
    width: w,
    tokens: 1 + Math.floor(h / config.patchSize) * Math.floor(w / config.patchSize),
    loadMs,
    weightBytes,
    forwardGflop: (2 * macs) / 1e9,
    forwardMs: median(forwardTimes),
    forwardGflops: (2 * macs) / 1e6 / median(forwardTimes),
    forwardPeakAllocatedBytes: forwardPeak,
    // Backward of the frozen tower (input gradients only) ≈ 1× the forward (spec §E): fwd+bwd = 2× forward.
    forwardBackwardGflop: (4 * macs) / 1e9,
    forwardBackwardMs: median(stepTimes),
    forwardBackwardGflops: (4 * macs) / 1e6 / median(stepTimes),
    forwardBackwardPeakAllocatedBytes: stepStats.peakAllocatedBytes,
    forwardBackwardPeakLiveBytes: stepStats.peakLiveBytes,
    dispatchesPerStep: dispatches,
    loss,
    memory,
  };
  engine.pool.trim();

  if (modelBytes && opts.ort) {
    log(`onnxruntime-web (WebGPU EP, ${opts.ortDevice} device): creating the session`);
    result.ort = await benchOrt(engine.ctx.device, modelBytes, pixels, shape, embeds, opts).catch(
      (e: unknown): OrtBenchResult => ({ ok: false, error: e instanceof Error ? e.message : String(e) }),
    );
    if (result.ort.forwardMs) {
      result.ort.forwardGflops = (2 * macs) / 1e6 / result.ort.forwardMs;
      result.ort.ratioOursOverOrt = result.forwardMs / result.ort.forwardMs;
    }
    memory.push(memorySample('after onnxruntime-web'));
  }
  tower.dispose();
  engine.destroy();
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// onnxruntime-web's WebGPU EP in Node
// ---------------------------------------------------------------------------------------------------------------

interface GpuGlobals {
  GPUQueue: { prototype: GPUQueue };
  GPUDevice: { prototype: GPUDevice };
}

let writeBufferPatched = false;

/** Dawn's writeBuffer in Node rejects views of a SharedArrayBuffer (ORT's threaded wasm memory): copy those. */
function patchWriteBufferForSharedMemory(): void {
  if (writeBufferPatched) return;
  writeBufferPatched = true;
  const proto = (globalThis as unknown as GpuGlobals).GPUQueue.prototype;
  const original = proto.writeBuffer;
  proto.writeBuffer = function (
    this: GPUQueue,
    buffer: GPUBuffer,
    offset: number,
    data: BufferSource | SharedArrayBuffer,
    dataOffset?: number,
    size?: number,
  ): undefined {
    if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
      const bpe = (data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
      const start = data.byteOffset + (dataOffset ?? 0) * bpe;
      const bytes = size === undefined ? data.byteLength - (dataOffset ?? 0) * bpe : size * bpe;
      const copy = new Uint8Array(bytes);
      copy.set(new Uint8Array(data.buffer, start, bytes));
      return original.call(this, buffer, offset, copy, 0, bytes);
    }
    return original.call(this, buffer, offset, data as BufferSource, dataOffset, size);
  } as GPUQueue['writeBuffer'];
}

/** navigator.gpu from the `webgpu` package, then onnxruntime-web's WebGPU build. */
async function importOrtWebGpu(): Promise<OrtModule> {
  const gpu = await nodeGpu();
  const g = globalThis as unknown as { navigator?: { gpu?: GPU } };
  if (!g.navigator) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  } else if (!g.navigator.gpu) {
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  }
  patchWriteBufferForSharedMemory();
  return import('onnxruntime-web/webgpu');
}

/** Counts the bytes of GPU buffers created (and not yet destroyed) on any device while installed. */
function trackBufferBytes(): { peak: () => number; uninstall: () => void } {
  const proto = (globalThis as unknown as GpuGlobals).GPUDevice.prototype;
  const original = proto.createBuffer;
  let live = 0;
  let peak = 0;
  proto.createBuffer = function (this: GPUDevice, desc: GPUBufferDescriptor): GPUBuffer {
    const buffer = original.call(this, desc);
    const size = Number(desc.size);
    live += size;
    peak = Math.max(peak, live);
    const destroy = buffer.destroy;
    let destroyed = false;
    buffer.destroy = function (this: GPUBuffer): undefined {
      if (!destroyed) live -= size;
      destroyed = true;
      return destroy.call(buffer);
    };
    return buffer;
  };
  return {
    peak: () => peak,
    uninstall: () => {
      proto.createBuffer = original;
    },
  };
}

async function benchOrt(
  device: GPUDevice,
  modelBytes: Uint8Array,
  pixels: Float32Array,
  shape: number[],
  ours: Float32Array,
  opts: ClipBenchOptions,
): Promise<OrtBenchResult> {
  const log = opts.log ?? (() => {});
  const ort = await importOrtWebGpu();
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  const tracker = trackBufferBytes();
  try {
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(modelBytes, {
      executionProviders: [opts.ortDevice === 'shared' ? { name: 'webgpu', device } : 'webgpu'],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
    const sessionCreateMs = performance.now() - t0;
    log(`onnxruntime-web: session created in ${(sessionCreateMs / 1000).toFixed(1)} s; forward`);
    const outputName = session.outputNames.includes('image_embeds') ? 'image_embeds' : session.outputNames[0];
    const input = new ort.Tensor('float32', pixels, shape);
    let embeds: Float32Array = new Float32Array(0);
    const times = await timeIt(
      null,
      opts.iters,
      opts.warmup,
      async () => {
        const out = await session.run({ [session.inputNames[0]]: input }, [outputName]);
        embeds = (out[outputName].data as Float32Array).slice();
        for (const t of Object.values(out)) t.dispose();
      },
      (which, ms) => log(`onnxruntime-web forward ${which}: ${(ms / 1000).toFixed(1)} s`),
    );
    await session.release();
    let maxAbsDiff = 0;
    let maxAbs = 0;
    for (let i = 0; i < embeds.length; i++) {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(embeds[i] - ours[i]));
      maxAbs = Math.max(maxAbs, Math.abs(embeds[i]));
    }
    if (embeds.length !== ours.length) maxAbsDiff = NaN;
    return {
      ok: true,
      device: opts.ortDevice,
      sessionCreateMs,
      forwardMs: median(times),
      peakBufferBytes: tracker.peak(),
      maxAbsDiff,
      maxAbs,
    };
  } finally {
    tracker.uninstall();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------------------------

export function printClipResult(r: ClipBenchResult): void {
  const c = r.config;
  const gb = (n: number) => formatBytes(n);
  console.log(`adapter: ${r.adapter}`);
  console.log(
    `CLIP vision tower: patch ${c.patchSize}, width ${c.hiddenSize}, ${c.numHiddenLayers} layers, ` +
      `${c.numAttentionHeads} heads, MLP ${c.intermediateSize}, projection ${c.projectionDim}; ` +
      `${r.parameters.toLocaleString('en-US')} parameters`,
  );
  console.log(`  weights: ${r.weights}; ${gb(r.weightBytes)} on the GPU, load ${(r.loadMs / 1000).toFixed(1)} s`);
  console.log(`  ${r.views} views at ${r.width}×${r.height} (${r.tokens} tokens each)`);
  console.log(
    `  forward:            ${r.forwardMs.toFixed(1)} ms  (${r.forwardGflop.toFixed(2)} GFLOP, ` +
      `${r.forwardGflops.toFixed(2)} GFLOP/s, peak ${gb(r.forwardPeakAllocatedBytes)} allocated)`,
  );
  console.log(
    `  forward + backward: ${r.forwardBackwardMs.toFixed(1)} ms  (${r.forwardBackwardGflop.toFixed(2)} GFLOP, ` +
      `${r.forwardBackwardGflops.toFixed(2)} GFLOP/s, peak ${gb(r.forwardBackwardPeakAllocatedBytes)} allocated, ` +
      `${gb(r.forwardBackwardPeakLiveBytes)} live, ${r.dispatchesPerStep} dispatches, loss ${r.loss.toFixed(4)})`,
  );
  console.log('  process memory (RSS / peak RSS / ArrayBuffers):');
  for (const m of r.memory) {
    console.log(
      `    ${m.stage.padEnd(22)} ${gb(m.rssBytes).padStart(10)} / ${gb(m.maxRssBytes).padStart(10)} / ` +
        `${gb(m.arrayBuffersBytes).padStart(10)}`,
    );
  }
  const o = r.ort;
  if (!o) return;
  if (!o.ok) {
    console.log(`  onnxruntime-web WebGPU: failed: ${o.error}`);
    return;
  }
  console.log(
    `  onnxruntime-web WebGPU (${o.device === 'shared' ? 'same GPUDevice' : 'own device, same adapter'}): ` +
      `forward ${o.forwardMs!.toFixed(1)} ms (${o.forwardGflops!.toFixed(2)} GFLOP/s), session ` +
      `${(o.sessionCreateMs! / 1000).toFixed(1)} s, peak ${gb(o.peakBufferBytes!)} of buffers`,
  );
  console.log(
    `  ratio ours / ORT (forward time): ${o.ratioOursOverOrt!.toFixed(2)}; embeddings max |ours − ORT| = ` +
      `${o.maxAbsDiff!.toExponential(2)} (max |ORT| ${o.maxAbs!.toFixed(3)})`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------------------------

export const CLIP_BENCH_USAGE = `Usage: npm run bench -- clip [options]

  --views N         views per batch (default 16)
  --size N          square views, N×N pixels (default: the config's image_size, 224 for ViT-B/32)
  --model DIR       DIR/config.json + DIR/onnx/vision_model.onnx (tools/make_clip_like.py writes one): our engine
                    runs its weights, and onnxruntime-web's WebGPU EP runs the same forward on the same device.
                    Default: random ViT-B/32 weights drawn here, our engine only
  --iters N         timed iterations; the median is reported (default 3, at least 1)
  --warmup N        untimed iterations first (default 1)
  --seed N          seed of the random weights, pixels and target (default 1234)
  --no-ort          with --model: skip onnxruntime-web
  --ort-device D    shared: ORT runs on our engine's GPUDevice (default); own: ORT requests its own device
  --json FILE       also write the result as JSON
  --help            this text`;

export type ClipBenchArgs = Omit<ClipBenchOptions, 'log'> & { json?: string };

/** Parses the arguments after `clip`; null for `--help`. Throws BenchUsageError on a mistake (before any GPU work). */
export function parseClipBenchArgs(args: readonly string[]): ClipBenchArgs | null {
  const values = parseBenchOptions(args, {
    views: { type: 'string' },
    size: { type: 'string' },
    model: { type: 'string' },
    iters: { type: 'string' },
    warmup: { type: 'string' },
    seed: { type: 'string' },
    'no-ort': { type: 'boolean' },
    'ort-device': { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return null;
  const ortDevice = values['ort-device'] ?? 'shared';
  if (ortDevice !== 'shared' && ortDevice !== 'own') {
    throw new BenchUsageError(`--ort-device must be "shared" or "own", got "${ortDevice}"`);
  }
  if (values.model !== undefined) {
    for (const f of ['config.json', join('onnx', 'vision_model.onnx')]) {
      if (!existsSync(join(values.model, f))) {
        throw new BenchUsageError(
          `--model ${values.model}: ${join(values.model, f)} does not exist (write one with ` +
            '/usr/bin/python3 tools/make_clip_like.py --out DIR)',
        );
      }
    }
  }
  if (values.json !== undefined && values.json.trim() === '') throw new BenchUsageError('--json needs a file name');
  return {
    views: integerOption('views', values.views, 16, 1),
    size: values.size === undefined ? undefined : integerOption('size', values.size, 224, 1),
    iters: integerOption('iters', values.iters, 3, 1),
    warmup: integerOption('warmup', values.warmup, 1, 0),
    seed: integerOption('seed', values.seed, 1234, 0),
    ort: !values['no-ort'],
    ortDevice,
    ...(values.model !== undefined ? { model: values.model } : {}),
    ...(values.json !== undefined ? { json: values.json } : {}),
  };
}

/** `npm run bench -- clip …`: parse, run, print (and write --json). */
export async function runClipBench(args: readonly string[], log: (line: string) => void): Promise<void> {
  const opts = parseClipBenchArgs(args);
  if (!opts) {
    console.log(CLIP_BENCH_USAGE);
    return;
  }
  const r = await benchClip({ ...opts, log });
  printClipResult(r);
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ benchmark: 'clip', ...r }, null, 2));
}

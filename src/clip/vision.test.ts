import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { maxAbs, maxAbsDiff, testEngine } from '../../test/gpu';
import type { Engine } from '../gpu/engine';
import { Tape } from '../gpu/tape';
import { cosineSimilarityRows, sphericalDistance } from '../ops/clipLoss';
import { scale } from '../ops/elementwise';
import { mean } from '../ops/reduce';
import { cosineSelfSimilarity } from '../ops/similarity';
import { decodeSafetensors } from '../nn/safetensors';
import { parseOnnx } from './onnx';
import { relevancyMap } from './relevancy';
import { ClipVisionTower } from './vision';
import { extractVisionWeights, visionConfigFromJson } from './visionWeights';

const DIR = new URL('../../models/tiny-clip/', import.meta.url);
const file = (p: string) => new Uint8Array(readFileSync(new URL(p, DIR)));
const reference = decodeSafetensors(file('reference.safetensors'));
const ref = (name: string) => {
  const t = reference.tensors.get(name);
  if (!t) throw new Error(`reference lacks ${name}`);
  return t;
};
const config = visionConfigFromJson(JSON.parse(new TextDecoder().decode(file('config.json'))));
const relErr = (got: ArrayLike<number>, want: ArrayLike<number>) => maxAbsDiff(got, want) / maxAbs(want);

let engine: Engine;
let tower: ClipVisionTower;
beforeAll(async () => {
  engine = await testEngine();
  tower = new ClipVisionTower(engine, extractVisionWeights(parseOnnx(file('onnx/vision_model.onnx')), config));
});

async function embed(pixels: { shape: number[]; data: Float32Array }): Promise<Float32Array> {
  const out = engine.tidy(() =>
    engine.noGrad(() => tower.forward(engine.fromArray(pixels.shape, pixels.data)).embeds!),
  );
  const v = await out.read();
  out.release();
  return v;
}

describe('CLIP vision tower on the engine', () => {
  it('matches onnxruntime on the same ONNX file (fp32): image embeddings within 1e-4', async () => {
    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(file('onnx/vision_model.onnx'));
    const px = ref('square.pixel_values');
    const batch = new Float32Array(2 * px.data.length);
    batch.set(px.data);
    for (let i = 0; i < px.data.length; i++) batch[px.data.length + i] = 0.5 * px.data[px.data.length - 1 - i];
    const res = await session.run({ pixel_values: new ort.Tensor('float32', batch, [2, 3, 56, 56]) });
    const want = res.image_embeds.data as Float32Array;
    const got = await embed({ shape: [2, 3, 56, 56], data: batch });
    expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(1e-4);
    await session.release();
  });

  it('matches the PyTorch reference for square and non-square inputs (embeddings, tokens, self-similarity)', async () => {
    for (const key of ['square', 'nonsquare']) {
      const px = ref(`${key}.pixel_values`);
      expect(relErr(await embed(px), ref(`${key}.image_embeds`).data)).toBeLessThanOrEqual(1e-3);
      const [tokens, sim] = engine.tidy(() =>
        engine.noGrad(() => {
          const out = tower.forward(engine.fromArray(px.shape, px.data), {
            tokensAfterBlocks: config.numHiddenLayers - 1,
            tokensOnly: true,
          });
          return [out.tokens!, cosineSelfSimilarity(out.tokens!)];
        }),
      );
      expect(relErr(await tokens.read(), ref(`${key}.structure_tokens`).data)).toBeLessThanOrEqual(1e-3);
      expect(relErr(await sim.read(), ref(`${key}.self_similarity`).data)).toBeLessThanOrEqual(1e-3);
      tokens.release();
      sim.release();
    }
    // The transposed positional-table quirk (spec §A.6.3) for the 7×11 grid.
    expect(relErr(tower.positionsFor(7, 11, false), ref('nonsquare.position_embedding').data)).toBeLessThanOrEqual(
      1e-6,
    );
  });

  it('backpropagates a spherical-distance loss to the pixels like PyTorch', async () => {
    const views = ref('loss.views');
    const target = ref('loss.target');
    const { loss, grad } = engine.tidy(() => {
      const x = engine.fromArray(views.shape, views.data);
      x.requiresGrad = true;
      const tape = Tape.start(engine);
      const emb = tower.forward(x).embeds!;
      const l = mean(sphericalDistance(emb, engine.fromArray(target.shape, target.data)));
      tape.backward(l);
      return { loss: l, grad: x.grad! };
    });
    expect(Math.abs((await loss.item()) - ref('loss.value').data[0])).toBeLessThanOrEqual(1e-5);
    expect(relErr(await grad.read(), ref('loss.grad').data)).toBeLessThanOrEqual(1e-3);
    loss.release();
    grad.release();
  });

  it('runs the fp16 file within fp16 tolerance of the fp32 one', async () => {
    const half = new ClipVisionTower(
      engine,
      extractVisionWeights(parseOnnx(file('onnx/vision_model_fp16.onnx')), config),
    );
    const px = ref('nonsquare.pixel_values');
    const full = await embed(px);
    const out = engine.tidy(() => engine.noGrad(() => half.forward(engine.fromArray(px.shape, px.data)).embeds!));
    const h = await out.read();
    out.release();
    half.dispose();
    expect(relErr(h, full)).toBeLessThanOrEqual(1e-2);
    expect(relErr(h, full)).toBeGreaterThan(0);
  });

  it('computes the relevancy map of the reference (last block, min-max normalized)', async () => {
    const px = ref('relevancy.pixel_values');
    const x = engine.fromArray(px.shape, px.data);
    const r = await relevancyMap(tower, x, ref('relevancy.text_embeds').data, { blocks: 1 });
    x.release();
    expect([r.hp, r.wp, r.width, r.height]).toEqual([7, 7, 56, 56]);
    expect(relErr(r.grid, ref('relevancy.map_7x7').data)).toBeLessThanOrEqual(1e-3);
    expect(maxAbsDiff(r.map, ref('relevancy.map').data)).toBeLessThanOrEqual(1e-3);
  });

  it('accumulates relevancy over several blocks by the Chefer rule (R ← R + cam·R), on the GPU', async () => {
    // Reference on the host, from the attention probabilities P and dlogit/dP the tower exposes.
    const px = ref('nonsquare.pixel_values');
    const text = ref('relevancy.text_embeds').data;
    const layers = config.numHiddenLayers;
    const heads = config.numAttentionHeads;
    const blocks = [0, 1].map((i) => layers - 2 + i);
    const parts = engine.tidy(() => {
      const x = engine.fromArray(px.shape, px.data);
      x.requiresGrad = true;
      const tape = Tape.start(engine);
      const out = tower.forward(x, { attentionOf: blocks });
      // The reference's logit scale 100: with several blocks the products of cams do not cancel it.
      const logit = scale(cosineSimilarityRows(out.embeds!, engine.fromArray([1, text.length], text)), 100);
      const g = tape.backward(logit, undefined, [...out.attention.values()]);
      const ps = blocks.map((b) => out.attention.get(b)!);
      return { ps, gs: ps.map((p) => g.get(p)!), grid: out.grid };
    });
    const probs = await Promise.all(parts.ps.map((t) => t.read()));
    const grads = await Promise.all(parts.gs.map((t) => t.read()));
    for (const t of [...parts.ps, ...parts.gs]) t.release();
    const { hp, wp } = parts.grid;
    const n = 1 + hp * wp;
    let r = Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
    for (let b = 0; b < blocks.length; b++) {
      const cam = new Float64Array(n * n);
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < n * n; i++)
          cam[i] += Math.max(grads[b][h * n * n + i] * probs[b][h * n * n + i], 0) / heads;
      }
      const next = [...r];
      for (let i = 0; i < n; i++)
        for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) next[i * n + j] += cam[i * n + k] * r[k * n + j];
      r = next;
    }
    const wantGrid = r.slice(1, n);

    const x = engine.fromArray(px.shape, px.data);
    const got = await relevancyMap(tower, x, text, { blocks: 2 });
    x.release();
    expect([got.hp, got.wp, got.height, got.width]).toEqual([7, 11, 56, 88]);
    expect(relErr(got.grid, wantGrid)).toBeLessThanOrEqual(1e-4);
    // One block differs from two (the rule really accumulates).
    const x1 = engine.fromArray(px.shape, px.data);
    const one = await relevancyMap(tower, x1, text, { blocks: 1 });
    x1.release();
    expect(relErr(one.grid, wantGrid)).toBeGreaterThan(1e-2);
    expect(Math.min(...got.map)).toBe(0);
    expect(Math.max(...got.map)).toBeCloseTo(1, 6);
  });
});

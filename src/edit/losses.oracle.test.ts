/**
 * One whole Text2LIVE image step against its PyTorch oracle (tools/loss_oracle.py →
 * test/fixtures/loss_step.safetensors): the tiny CLIP, a small generator, a real photo, K = 2 items
 * (crop + full image), the fixture's fixed view parameters, target rows drawn once for the step and shared by both
 * items (as the reference draws them per loss call), and a fixed bootstrap crop (bootstrapping_min_cover < 1). Every
 * loss term, the
 * gradients with respect to each render and every generator parameter gradient must match within a
 * relative error of 1e-3 (the generator oracle's gradient rules, which also handle the conv biases
 * whose true gradient is exactly zero because a BN follows them).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { maxAbs, maxAbsDiff, testEngine } from '../../test/gpu';
import { parseOnnx } from '../clip/onnx';
import { ClipVisionTower } from '../clip/vision';
import { extractVisionWeights, visionConfigFromJson } from '../clip/visionWeights';
import { Tape } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { GENERATOR_ORACLE_TOLERANCES, judgeGradients } from '../nn/generatorOracle';
import { Rng } from '../nn/rng';
import { decodeSafetensors, type DecodedTensor } from '../nn/safetensors';
import { SkipGenerator, type SkipGeneratorConfig } from '../nn/skip';
import type { CropBox } from '../ops/resize';
import type { ViewParams } from './clipViews';
import { DEFAULT_EDIT_CONFIG, validateConfig } from './config';
import { accumulateStepGradients, renderOutput } from './job';
import {
  computeLosses,
  drawStep,
  LOSS_VALUE_ORDER,
  relevancyTarget,
  replayDraws,
  weightedTotal,
  type LossContext,
  type LossItem,
} from './losses';
import type { TextTargets } from './targets';

const FIXTURE = new URL('../../test/fixtures/loss_step.safetensors', import.meta.url);
const MODEL = new URL('../../models/tiny-clip/', import.meta.url);
const RELATIVE = 1e-3;

function rows(t: DecodedTensor): Float32Array[] {
  const [n, d] = t.shape;
  return Array.from({ length: n }, (_, i) => t.data.slice(i * d, (i + 1) * d));
}

const relErr = (got: ArrayLike<number>, want: ArrayLike<number>) => maxAbsDiff(got, want) / maxAbs(want);

describe('one training step against the PyTorch oracle', () => {
  it('matches every loss term, the render gradients and every generator gradient (rel. 1e-3)', async () => {
    const engine = await testEngine();
    const fx = decodeSafetensors(new Uint8Array(readFileSync(FIXTURE)));
    const meta = fx.metadata;
    expect(meta.format).toBe('text2live-web loss oracle v2');
    const tensor = (name: string): DecodedTensor => {
      const t = fx.tensors.get(name);
      if (!t) throw new Error(`the fixture has no tensor ${name}`);
      return t;
    };

    const file = (p: string) => new Uint8Array(readFileSync(new URL(p, MODEL)));
    const visionConfig = visionConfigFromJson(JSON.parse(new TextDecoder().decode(file('config.json'))));
    const vision = new ClipVisionTower(
      engine,
      extractVisionWeights(parseOnnx(file('onnx/vision_model.onnx')), visionConfig),
    );
    const step = Number(meta.step);
    const config = validateConfig({
      ...DEFAULT_EDIT_CONFIG,
      ...JSON.parse(meta.config),
      compText: 'unused: the targets come from the fixture',
      bootstrapText: 'unused',
    });
    const targets: TextTargets = {
      comp: rows(tensor('targets.comp')),
      src: rows(tensor('targets.src')),
      screen: rows(tensor('targets.screen')),
      bootstrap: tensor('targets.bootstrap').data,
    };
    const views = JSON.parse(meta.views) as ViewParams[][];
    const indices = JSON.parse(meta.indices) as number[][];
    const crops = [JSON.parse(meta.bootstrap_crop) as CropBox];
    const recorded = { views, indices, crops };
    const ctx: LossContext = {
      engine,
      vision,
      config,
      targets,
      rng: new Rng(0), // unused: every draw is replayed
      draws: replayDraws(recorded),
      viewChunk: 2, // 3 views per term → chunks of 2 and 1, so the chunked accumulation is exercised
    };

    const genConfig = JSON.parse(meta.generator) as SkipGeneratorConfig;
    const gen = SkipGenerator.create(engine, genConfig, 0);
    for (const p of gen.params) {
      const t = tensor(`param.${p.name}`);
      expect(t.shape, p.name).toEqual(p.value.shape);
      engine.upload(p.value.buffer, t.data);
    }
    const inputs = [0, 1].map((k) => {
      const t = tensor(`item${k}.input`);
      return engine.fromArray(t.shape, t.data, `oracle-item${k}`).keep();
    });

    // The step's shared draws and the bootstrap target come before the step, as in EditJob.step().
    const draws = drawStep(ctx, step, [inputs[1].shape[2], inputs[1].shape[3]]);
    expect(draws.bootstrapCrop).toEqual(crops[0]);
    const relevancy = relevancyTarget(ctx, inputs[1], draws.bootstrapCrop).keep();
    const relevancyError = maxAbsDiff(await relevancy.read(), tensor('relevancy').data);

    const out = engine.tidy(() => {
      const tape = Tape.start(engine);
      try {
        const items: LossItem[] = inputs.map((input) => {
          const r = renderOutput(gen.forward(input), input);
          return { input, composite: r.composite, greenscreen: r.greenscreen, alpha: r.alpha };
        });
        engine.activeTape = null;
        const losses = computeLosses(ctx, items, { step, draws, relevancy });
        tape.backwardMany(losses.seeds);
        return {
          renders: items.flatMap((it) => [it.composite, it.greenscreen, it.alpha]),
          seeds: losses.seeds.map((s) => s.grad),
          values: losses.values,
          weights: losses.weights,
          grads: gen.params.map((p) => p.value.grad!),
        };
      } finally {
        if (engine.activeTape === tape) engine.activeTape = null;
      }
    });
    const readAll = (ts: Tensor[]) => Promise.all(ts.map((t) => t.read()));
    const [renders, seeds, values, grads] = await Promise.all([
      readAll(out.renders),
      readAll(out.seeds),
      out.values.read(),
      readAll(out.grads),
    ]);

    // Loss terms, weights, total.
    const wantTerms = tensor('terms').data;
    expect(JSON.parse(meta.terms_order)).toEqual([...LOSS_VALUE_ORDER]);
    expect(out.weights.map((w) => Math.fround(w))).toEqual([...tensor('weights').data]);
    const termErrors = LOSS_VALUE_ORDER.map((name, i) => ({
      name,
      got: values[i],
      want: wantTerms[i],
      rel: Math.abs(values[i] - wantTerms[i]) / Math.abs(wantTerms[i]),
    }));
    const total = weightedTotal(values, out.weights);
    const totalError = Math.abs(total - tensor('total').data[0]) / Math.abs(tensor('total').data[0]);

    // Renders (forward) and the gradients of the total with respect to them.
    const names = ['composite', 'greenscreen', 'alpha'];
    const renderErrors = renders.map((r, i) => ({
      name: `item${Math.floor(i / 3)}.${names[i % 3]}`,
      abs: maxAbsDiff(r, tensor(`item${Math.floor(i / 3)}.${names[i % 3]}`).data),
    }));
    const seedErrors = seeds.map((g, i) => ({
      name: `item${Math.floor(i / 3)}.grad.${names[i % 3]}`,
      rel: relErr(g, tensor(`item${Math.floor(i / 3)}.grad.${names[i % 3]}`).data),
    }));

    // Generator gradients, by the generator oracle's rules.
    const refs = new Map(gen.params.map((p) => [p.name, tensor(`grad.${p.name}`).data]));
    const got = new Map(gen.params.map((p, i) => [p.name, grads[i]]));
    const judged = judgeGradients(refs, got);

    console.log(
      `loss oracle: relevancy max abs ${relevancyError.toExponential(2)}; terms ` +
        termErrors.map((t) => `${t.name} ${t.got.toPrecision(6)} (rel ${t.rel.toExponential(1)})`).join(', ') +
        `; total rel ${totalError.toExponential(1)}; worst render abs ${Math.max(...renderErrors.map((r) => r.abs)).toExponential(1)}` +
        `; worst render-gradient rel ${Math.max(...seedErrors.map((s) => s.rel)).toExponential(1)}` +
        `; worst parameter gradient rel ${judged.relative[0].relativeError.toExponential(2)} (${judged.relative[0].name})` +
        `, ${judged.zero.length} zero-gradient biases`,
    );

    expect(relevancyError).toBeLessThanOrEqual(1e-3);
    for (const t of termErrors) expect(t.rel, `${t.name}: ${t.got} vs ${t.want}`).toBeLessThanOrEqual(RELATIVE);
    expect(termErrors.every((t) => t.want > 0)).toBe(true); // every term is active in this step
    expect(totalError).toBeLessThanOrEqual(RELATIVE);
    for (const r of renderErrors) expect(r.abs, r.name).toBeLessThanOrEqual(GENERATOR_ORACLE_TOLERANCES.output);
    for (const s of seedErrors) expect(s.rel, s.name).toBeLessThanOrEqual(RELATIVE);
    expect(judged.failures).toEqual([]);
    expect(judged.relative.length).toBe(gen.params.length - judged.zero.length);

    for (const t of [...out.renders, ...out.seeds, ...out.grads, out.values]) t.release();
    for (const p of gen.params) p.value.grad = null;

    // The job's own path: the same step item by item (one generator pass held at a time), gradients summed.
    const job = engine.tidy(() => {
      const jobCtx = { ...ctx, draws: replayDraws(recorded) };
      const jobDraws = drawStep(jobCtx, step, [inputs[1].shape[2], inputs[1].shape[3]]);
      const r = accumulateStepGradients(jobCtx, gen, inputs, { step, draws: jobDraws, relevancy });
      return { values: r.values, weights: r.weights, grads: gen.params.map((p) => p.value.grad!) };
    });
    const jobValues = await job.values.read();
    const jobGrads = await Promise.all(job.grads.map((g) => g.read()));
    const jobTotalError =
      Math.abs(weightedTotal(jobValues, job.weights) - tensor('total').data[0]) / Math.abs(tensor('total').data[0]);
    const itemByItem = judgeGradients(refs, new Map(gen.params.map((p, i) => [p.name, jobGrads[i]])));
    console.log(
      `loss oracle, item by item: total rel ${jobTotalError.toExponential(1)}, worst parameter gradient rel ` +
        `${itemByItem.relative[0].relativeError.toExponential(2)} (${itemByItem.relative[0].name})`,
    );
    LOSS_VALUE_ORDER.forEach((name, i) => {
      expect(Math.abs(jobValues[i] - wantTerms[i]) / Math.abs(wantTerms[i]), name).toBeLessThanOrEqual(RELATIVE);
    });
    expect(job.weights).toEqual(out.weights);
    expect(jobTotalError).toBeLessThanOrEqual(RELATIVE);
    expect(itemByItem.failures).toEqual([]);

    for (const t of [...job.grads, job.values, relevancy, ...inputs]) t.release();
    for (const p of gen.params) p.value.grad = null;
    gen.dispose();
  });
});

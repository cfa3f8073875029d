/**
 * One Text2LIVE video step against its PyTorch oracle (tools/video_step_oracle.py →
 * test/fixtures/video_step.safetensors): the tiny CLIP, a small generator, an atlas crop warped into three frame
 * windows by rotated/scaled grids (some samples past the border), the direct frame pass and, in the foreground case,
 * the whole atlas with the bootstrap term. Every loss term, every warped render and every generator gradient must
 * match within 1e-3 relative (the generator oracle's rules for gradients), for a foreground and a background step.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { maxAbsDiff, testEngine } from '../../../test/gpu';
import { parseOnnx } from '../../clip/onnx';
import { ClipVisionTower } from '../../clip/vision';
import { extractVisionWeights, visionConfigFromJson } from '../../clip/visionWeights';
import type { ViewParams } from '../../edit/clipViews';
import { DEFAULT_EDIT_CONFIG, validateConfig } from '../../edit/config';
import { accumulatePassGradients } from '../../edit/job';
import {
  drawStep,
  LOSS_VALUE_ORDER,
  relevancyTarget,
  replayDraws,
  weightedTotal,
  type LossContext,
} from '../../edit/losses';
import type { TextTargets } from '../../edit/targets';
import type { Engine } from '../../gpu/engine';
import type { Tensor } from '../../gpu/tensor';
import { GENERATOR_ORACLE_TOLERANCES, judgeGradients } from '../../nn/generatorOracle';
import { Rng } from '../../nn/rng';
import { decodeSafetensors, type DecodedTensor } from '../../nn/safetensors';
import { SkipGenerator, type SkipGeneratorConfig } from '../../nn/skip';
import type { EditLayer } from './layerData';
import { isWholeAtlasStep, stepPasses, type StepTensors } from './videoStep';

const FIXTURE = new URL('../../../test/fixtures/video_step.safetensors', import.meta.url);
const MODEL = new URL('../../../models/tiny-clip/', import.meta.url);
const RELATIVE = 1e-3;

const fx = decodeSafetensors(new Uint8Array(readFileSync(FIXTURE)));
const meta = fx.metadata;
function tensor(name: string): DecodedTensor {
  const t = fx.tensors.get(name);
  if (!t) throw new Error(`the fixture has no tensor ${name}`);
  return t;
}
const rows = (t: DecodedTensor) =>
  Array.from({ length: t.shape[0] }, (_, i) => t.data.slice(i * t.shape[1], (i + 1) * t.shape[1]));

async function vision(engine: Engine): Promise<ClipVisionTower> {
  const file = (p: string) => new Uint8Array(readFileSync(new URL(p, MODEL)));
  const config = visionConfigFromJson(JSON.parse(new TextDecoder().decode(file('config.json'))));
  return new ClipVisionTower(engine, extractVisionWeights(parseOnnx(file('onnx/vision_model.onnx')), config));
}

describe('one video step against the PyTorch oracle', () => {
  for (const name of ['fg', 'bg'] as const) {
    it(`matches every term, warped render and generator gradient: ${name} (rel. 1e-3)`, async () => {
      const engine = await testEngine();
      expect(meta.format).toBe('text2live-web video step oracle v1');
      const p = `${name}.`;
      const c = JSON.parse(meta[`${p}case`]) as {
        layer: EditLayer;
        direct: number;
        whole: boolean;
        bootstrap: boolean;
        items: number;
      };
      const step = Number(meta.step);
      expect(isWholeAtlasStep(step)).toBe(true);
      const fixtureConfig = JSON.parse(meta.config) as Record<string, unknown>;
      const config = validateConfig({
        ...DEFAULT_EDIT_CONFIG,
        ...fixtureConfig,
        compText: 'unused: the targets come from the fixture',
        bootstrapText: 'unused',
      });
      const targets: TextTargets = {
        comp: rows(tensor('targets.comp')),
        src: rows(tensor('targets.src')),
        screen: rows(tensor('targets.screen')),
        bootstrap: c.bootstrap ? tensor('targets.bootstrap').data : null,
      };
      const recorded = {
        views: JSON.parse(meta[`${p}views`]) as ViewParams[][],
        indices: JSON.parse(meta[`${p}indices`]) as number[][],
      };
      const ctx: LossContext = {
        engine,
        vision: await vision(engine),
        config,
        targets,
        rng: new Rng(0), // unused: every draw is replayed
        draws: replayDraws(recorded),
        viewChunk: 2,
      };
      const gen = SkipGenerator.create(engine, JSON.parse(meta.generator) as SkipGeneratorConfig, 0);
      for (const prm of gen.params) engine.upload(prm.value.buffer, tensor(`${p}param.${prm.name}`).data);
      const up = (key: string) => {
        const t = tensor(key);
        return engine.fromArray(t.shape, t.data, key).keep();
      };
      const t: StepTensors = {
        crop: up(`${p}crop`),
        windows: [0, 1, 2].map((i) => ({
          grid: up(`${p}window${i}.grid`),
          alpha: up(`${p}window${i}.alpha`),
          input: up(`${p}window${i}.input`),
        })),
      };
      const whole = c.whole ? up(`${p}whole`) : null;
      const passes = stepPasses(c.layer, t, c.direct, whole);
      const inputs = new Set<Tensor>([t.crop, ...t.windows.map((w) => w.input)]);
      if (whole) inputs.add(whole);
      expect(passes.reduce((n, x) => n + x.items, 0)).toBe(c.items);

      // The warped renders, pass by pass (the passes are pure functions of the generator's parameters).
      const renderErrors: Array<{ key: string; abs: number }> = [];
      let k = 0;
      for (const pass of passes) {
        const items = engine.tidy(() => engine.noGrad(() => pass.run(gen)));
        for (const item of items) {
          for (const key of ['input', 'composite', 'greenscreen', 'alpha'] as const) {
            const want = tensor(`${p}item${k}.${key}`);
            expect(item[key].shape, `item${k}.${key}`).toEqual(want.shape);
            renderErrors.push({ key: `item${k}.${key}`, abs: maxAbsDiff(await item[key].read(), want.data) });
            if (!inputs.has(item[key])) item[key].release();
          }
          k++;
        }
      }

      // The step: draws, the bootstrap target of the last item, then every pass's gradients summed.
      const last = whole ?? t.windows[c.direct].input;
      const result = engine.tidy(() => {
        const draws = drawStep(ctx, step, [last.shape[2], last.shape[3]]);
        const relevancy = c.bootstrap ? relevancyTarget(ctx, last, draws.bootstrapCrop) : null;
        const r = accumulatePassGradients(ctx, gen, passes, { step, draws, relevancy });
        return { values: r.values, weights: r.weights, grads: gen.params.map((x) => x.value.grad!) };
      });
      const values = await result.values.read();
      const grads = await Promise.all(result.grads.map((g) => g.read()));
      const wantTerms = tensor(`${p}terms`).data;
      const termErrors = LOSS_VALUE_ORDER.map((term, i) => ({
        term,
        got: values[i],
        want: wantTerms[i],
        rel: wantTerms[i] === 0 ? Math.abs(values[i]) : Math.abs(values[i] - wantTerms[i]) / Math.abs(wantTerms[i]),
      }));
      const wantTotal = tensor(`${p}total`).data[0];
      const totalError = Math.abs(weightedTotal(values, result.weights) - wantTotal) / Math.abs(wantTotal);
      const refs = new Map(gen.params.map((x) => [x.name, tensor(`${p}grad.${x.name}`).data]));
      const judged = judgeGradients(refs, new Map(gen.params.map((x, i) => [x.name, grads[i]])));
      console.log(
        `video step oracle (${name}, K = ${c.items}): terms ` +
          termErrors.map((e) => `${e.term} ${e.got.toPrecision(6)} (rel ${e.rel.toExponential(1)})`).join(', ') +
          `; total rel ${totalError.toExponential(1)}; worst render abs ` +
          `${Math.max(...renderErrors.map((r) => r.abs)).toExponential(1)}; worst parameter gradient rel ` +
          `${judged.relative[0].relativeError.toExponential(2)} (${judged.relative[0].name})`,
      );

      expect(result.weights.map((w) => Math.fround(w))).toEqual([...tensor(`${p}weights`).data]);
      for (const e of termErrors) expect(e.rel, `${e.term}: ${e.got} vs ${e.want}`).toBeLessThanOrEqual(RELATIVE);
      // Every term is active, except the bootstrap in the background case.
      expect(termErrors.filter((e) => e.want > 0).length).toBe(c.bootstrap ? 7 : 6);
      expect(totalError).toBeLessThanOrEqual(RELATIVE);
      for (const r of renderErrors) expect(r.abs, r.key).toBeLessThanOrEqual(GENERATOR_ORACLE_TOLERANCES.output);
      expect(judged.failures).toEqual([]);
      expect(judged.relative.length).toBe(gen.params.length - judged.zero.length);

      const owned: Tensor[] = [t.crop, ...t.windows.flatMap((w) => [w.grid, w.alpha, w.input]), ...result.grads];
      if (whole) owned.push(whole);
      for (const x of [...owned, result.values]) x.release();
      for (const x of gen.params) x.value.grad = null;
      gen.dispose();
    }, 300_000);
  }
});

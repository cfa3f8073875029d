/**
 * One layered-atlas fitting iteration against its PyTorch oracle (tools/atlas_oracle.py →
 * test/fixtures/atlas_step.safetensors, written from VIDEO_ATLAS.md and NLA's losses, not from this code): a batch
 * of real blackswan pixels, smooth flows with invalid pixels, mappings far from the identity and random texture
 * pyramids. For the bootstrap iteration (global rigidity, mask bootstrap), an iteration after it (weak mask prior)
 * and the background-only mode: every unweighted loss term, the weighted total, the reconstruction and every
 * parameter's gradient within 1e-3 relative (max |difference| / max |oracle| per tensor).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { maxAbs, maxAbsDiff, testEngine } from '../../../test/gpu';
import { Tape } from '../../gpu/tape';
import type { Tensor } from '../../gpu/tensor';
import { decodeSafetensors, type DecodedTensor } from '../../nn/safetensors';
import { atlasConfig, type AtlasConfig } from './atlasConfig';
import { ATLAS_TERMS, atlasLosses } from './atlasLosses';
import { AtlasModel } from './atlasModel';
import type { FrameGeometry } from './coords';
import type { PointBatch } from './pointBatch';

const FIXTURE = new URL('../../../test/fixtures/atlas_step.safetensors', import.meta.url);
const RELATIVE = 1e-3;

const relErr = (got: ArrayLike<number>, want: ArrayLike<number>) => maxAbsDiff(got, want) / maxAbs(want);

describe('one atlas fitting iteration against the PyTorch oracle', () => {
  const fx = decodeSafetensors(new Uint8Array(readFileSync(FIXTURE)));
  const meta = fx.metadata;
  const tensor = (name: string): DecodedTensor => {
    const t = fx.tensors.get(name);
    if (!t) throw new Error(`the fixture has no tensor ${name}`);
    return t;
  };
  const geometry = JSON.parse(meta.geometry) as FrameGeometry;
  const cases = JSON.parse(meta.cases) as Record<string, { iteration: number; backgroundOnly: boolean }>;

  it('is the fixture this test was written for', () => {
    expect(meta.format).toBe('text2live-web atlas oracle v1');
    expect(Object.keys(cases)).toEqual(['bootstrap', 'prior', 'backgroundOnly']);
  });

  for (const [name, c] of Object.entries(cases)) {
    it(`matches every term, the reconstruction and every gradient: ${name} (rel. 1e-3)`, async () => {
      const engine = await testEngine();
      const config: AtlasConfig = atlasConfig(geometry.width, {
        ...(JSON.parse(meta.config) as Partial<AtlasConfig>),
        backgroundOnly: c.backgroundOnly,
      });
      const model = AtlasModel.create(engine, config);
      for (const p of model.params) engine.upload(p.value.buffer, tensor(`${name}.param.${p.name}`).data);
      expect(model.params.length).toBe([...fx.tensors.keys()].filter((k) => k.startsWith(`${name}.param.`)).length);

      const up = (key: string): Tensor => engine.fromArray(tensor(key).shape, tensor(key).data, key);
      const out = engine.tidy(() => {
        const coords = up('batch.coords');
        const batch: PointBatch = {
          coords,
          rgb: up('batch.rgb'),
          mask: c.backgroundOnly ? null : up('batch.mask'),
          rigidity: {
            coords: up('batch.rigidity.coords'),
            dx: up('batch.rigidity.dx'),
            dy: up('batch.rigidity.dy'),
            globalDx: up('batch.rigidity.globalDx'),
            globalDy: up('batch.rigidity.globalDy'),
          },
          forwardIndex: up('batch.forwardIndex'),
          backwardIndex: up('batch.backwardIndex'),
          flowCoords: engine.fromArray(
            [tensor('batch.forwardIndex').shape[0], 3],
            tensor('batch.coords').data.slice(0, 3 * tensor('batch.forwardIndex').shape[0]),
          ),
        };
        const flows = {
          forward: up('flows.forward'),
          backward: up('flows.backward'),
          forwardValid: up('flows.forwardValid'),
          backwardValid: up('flows.backwardValid'),
        };
        const tape = Tape.start(engine);
        const losses = atlasLosses(model, batch, flows, geometry, c.iteration);
        tape.backward(losses.total);
        return [losses.values, losses.total, losses.reconstruction, ...model.params.map((p) => p.value.grad!)].map(
          (t) => t.keep(),
        );
      });
      const [values, total, reconstruction, ...grads] = await Promise.all(out.map((t) => t.read()));
      for (const t of out) t.release();

      const want = tensor(`${name}.values`).data;
      ATLAS_TERMS.forEach((term, i) => {
        if (want[i] === 0) expect(values[i], term).toBe(0);
        else expect(Math.abs(values[i] - want[i]) / Math.abs(want[i]), term).toBeLessThan(RELATIVE);
      });
      expect(Math.abs(total[0] - tensor(`${name}.total`).data[0]) / tensor(`${name}.total`).data[0]).toBeLessThan(
        RELATIVE,
      );
      expect(relErr(reconstruction, tensor(`${name}.reconstruction`).data)).toBeLessThan(RELATIVE);
      const bad = model.params
        .map((p, i) => ({ name: p.name, rel: relErr(grads[i], tensor(`${name}.grad.${p.name}`).data) }))
        .filter((g) => !(g.rel < RELATIVE));
      expect(bad).toEqual([]);
      model.dispose();
    });
  }
});

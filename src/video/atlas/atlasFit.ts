/**
 * Fitting the layered atlas to a clip: Adam on the MLPs (lr 1e-3) and on the atlas texels (5e-3), both decaying
 * ×0.1 per 10k iterations, β = (0.9, 0.99), one random pixel batch per iteration (VIDEO_ATLAS.md §4). `step()` runs
 * one iteration without waiting for the GPU; `log()` reads the loss terms and a PSNR estimate on a fixed set of
 * pixels (one small read-back) when the caller wants them, so the fit is never stalled by reporting.
 */
import type { Engine } from '../../gpu/engine';
import { Tape } from '../../gpu/tape';
import type { Tensor } from '../../gpu/tensor';
import { Adam } from '../../nn/adam';
import { Rng } from '../../nn/rng';
import { mse } from '../../ops/loss';
import type { AtlasConfig } from './atlasConfig';
import { ATLAS_TERMS, atlasLosses, blendPoints, type AtlasTerm, type ClipFlows } from './atlasLosses';
import { AtlasModel } from './atlasModel';
import { sampleBatch, type ClipPixels } from './pointBatch';

export interface AtlasLog {
  iteration: number;
  /** Unweighted terms of the last iteration. */
  terms: Record<AtlasTerm, number>;
  /** Reconstruction PSNR (dB) on a fixed random set of the clip's pixels. */
  psnr: number;
}

/** Pixels of the fixed PSNR estimate. */
const PSNR_PIXELS = 8192;

export class AtlasFitter {
  readonly model: AtlasModel;
  private readonly mlpOpt: Adam;
  private readonly textureOpt: Adam | null;
  private readonly rng: Rng;
  private iterations = 0;
  private lastValues: Tensor | null = null;
  private readonly psnrSet: { coords: Tensor; rgb: Tensor };

  constructor(
    readonly engine: Engine,
    readonly clip: ClipPixels,
    readonly flows: ClipFlows | null,
    readonly config: AtlasConfig,
  ) {
    this.model = AtlasModel.create(engine, config);
    this.mlpOpt = new Adam(this.model.mlpParams, { lr: config.lrMlp, betas: [0.9, 0.99] });
    this.textureOpt = new Adam(this.model.textureParams, { lr: config.lrTexture, betas: [0.9, 0.99] });
    this.rng = new Rng(config.seed ^ 0x9e3779b9);
    const fixed = sampleBatch(
      engine,
      clip,
      {
        batch: Math.min(PSNR_PIXELS, clip.width * clip.height * clip.frames),
        rigidityBatch: 0,
        flowBatch: 0,
        globalPixels: 0,
      },
      new Rng(config.seed + 1),
    );
    this.psnrSet = { coords: fixed.coords.keep(), rgb: fixed.rgb.keep() };
    for (const t of [
      fixed.mask,
      fixed.forwardIndex,
      fixed.backwardIndex,
      fixed.flowCoords,
      ...Object.values(fixed.rigidity),
    ]) {
      t?.release();
    }
  }

  get iteration(): number {
    return this.iterations;
  }

  /** Continues a saved fit at `iteration` (its schedules: the bootstrap phase and the learning-rate decay). */
  continueFrom(iteration: number): void {
    if (!Number.isInteger(iteration) || iteration < 0) throw new Error(`continueFrom: bad iteration ${iteration}`);
    this.iterations = iteration;
  }

  private lrScale(): number {
    return this.config.lrDecay ** (this.iterations / this.config.lrDecayEvery);
  }

  /** One iteration: a batch, the losses, one backward, the Adam updates. Nothing is read back. */
  step(): void {
    const e = this.engine;
    const it = this.iterations;
    const values = e.tidy(() => {
      const batch = sampleBatch(
        e,
        this.clip,
        {
          batch: this.config.batch,
          rigidityBatch: this.config.rigidityBatch,
          flowBatch: this.flows ? this.config.flowBatch : 0,
          globalPixels: this.config.globalRigidityPixels,
        },
        this.rng,
      );
      const tape = Tape.start(e);
      const losses = atlasLosses(this.model, batch, this.flows, this.clip, it);
      tape.backward(losses.total);
      const s = this.lrScale();
      this.mlpOpt.step(this.config.lrMlp * s);
      this.textureOpt?.step(this.config.lrTexture * s);
      return losses.values;
    });
    this.lastValues?.release();
    this.lastValues = values.keep();
    this.iterations++;
  }

  /** The last iteration's terms and the PSNR estimate (reads back a few numbers). */
  async log(): Promise<AtlasLog> {
    const e = this.engine;
    const mseT = e.tidy(() =>
      e.noGrad(() => {
        const recon = this.reconstruct(this.psnrSet.coords);
        return mse(recon, this.psnrSet.rgb);
      }),
    );
    const [err, values] = await Promise.all([mseT.read(), this.lastValues ? this.lastValues.read() : null]);
    mseT.release();
    const terms = Object.fromEntries(ATLAS_TERMS.map((k, i) => [k, values ? values[i] : NaN])) as AtlasLog['terms'];
    return { iteration: this.iterations, terms, psnr: 10 * Math.log10(1 / Math.max(err[0], 1e-12)) };
  }

  /** The model's colours [N,3] at points [N,3] (no gradient). */
  reconstruct(points: Tensor): Tensor {
    const m = this.model;
    return this.engine.noGrad(() => {
      const b = m.colour(m.background, m.map(m.background, points));
      if (!m.foreground) return b;
      const f = m.colour(m.foreground, m.map(m.foreground, points));
      return blendPoints(f, m.alphaOf(points)!, b);
    });
  }

  dispose(): void {
    this.lastValues?.release();
    this.psnrSet.coords.release();
    this.psnrSet.rgb.release();
    this.mlpOpt.dispose();
    this.textureOpt?.dispose();
    this.model.dispose();
  }
}

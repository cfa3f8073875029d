/**
 * A clip's decomposition as the worker drives it: the frames and their flows on the device, the atlas fitter, and
 * what the page is shown (progress figures, a frame's reconstruction and alpha, the atlases). As interfaces, so the
 * controller's tests can drive every state with fakes; `atlasRunFactory` makes the real ones.
 */
import type { RgbaImage } from '../edit/jobTypes';
import type { Engine } from '../gpu/engine';
import { atlasConfig, type AtlasConfig } from '../video/atlas/atlasConfig';
import { AtlasFitter, type AtlasLog } from '../video/atlas/atlasFit';
import { loadAtlas, saveAtlas } from '../video/atlas/atlasFile';
import { atlasRaster, bakeFrame, greyImage, rgbImage } from '../video/atlas/atlasRender';
import type { ClipPixels } from '../video/atlas/pointBatch';
import { computeFlows, type FlowField } from '../video/flow';
import type { VideoClip } from '../video/media/videoClip';

export interface DecomposeOptions {
  iterations: number;
  /** One layer without alpha (a clip without a separate moving object). */
  backgroundOnly: boolean;
  seed: number;
}

export interface AtlasViews {
  /** The frame through the fitted model. */
  reconstruction: RgbaImage;
  /** Its α matte (null in background-only mode). */
  alpha: RgbaImage | null;
  background: RgbaImage;
  foreground: RgbaImage | null;
}

export interface AtlasRun {
  readonly iteration: number;
  readonly iterations: number;
  readonly backgroundOnly: boolean;
  /** One iteration, finished on the GPU before it resolves (so a pause or a loss is noticed between iterations). */
  step(): Promise<void>;
  log(): Promise<AtlasLog>;
  views(frame: number): Promise<AtlasViews>;
  /** The decomposition as atlas.safetensors bytes (what a recovery or the page's download starts from). */
  save(): Promise<Uint8Array>;
  dispose(): void;
}

export interface AtlasRunFactory {
  /** Frames on the device, flows, the fitter. */
  prepare(engine: Engine, clip: VideoClip, opts: DecomposeOptions): Promise<AtlasRun>;
  /** The same from saved bytes, continuing at the saved iteration (the optimizer starts afresh). */
  restore(engine: Engine, clip: VideoClip, bytes: Uint8Array, opts: DecomposeOptions): Promise<AtlasRun>;
}

/** The settings of a fit of this clip. */
export function decomposeConfig(clip: VideoClip, opts: DecomposeOptions): AtlasConfig {
  return atlasConfig(clip.width, { iterations: opts.iterations, backgroundOnly: opts.backgroundOnly, seed: opts.seed });
}

function clipPixels(clip: VideoClip): ClipPixels {
  return {
    width: clip.width,
    height: clip.height,
    frames: clip.frames.length,
    rgba: clip.frames.map((f) => f.data),
    masks: clip.masks,
  };
}

/** The frames as [F,3,H,W] in [0,1] on the device. */
function framesTensor(engine: Engine, clip: VideoClip) {
  const { width: w, height: h } = clip;
  const f = clip.frames.length;
  const data = new Float32Array(f * 3 * h * w);
  clip.frames.forEach((fr, t) => {
    for (let q = 0; q < h * w; q++) {
      for (let c = 0; c < 3; c++) data[(t * 3 + c) * h * w + q] = fr.data[4 * q + c] / 255;
    }
  });
  return engine.fromArray([f, 3, h, w], data, 'clip-frames');
}

class FitterRun implements AtlasRun {
  constructor(
    private readonly fitter: AtlasFitter,
    private readonly flows: FlowField | null,
    private readonly clip: VideoClip,
  ) {}

  get iteration(): number {
    return this.fitter.iteration;
  }

  get iterations(): number {
    return this.fitter.config.iterations;
  }

  get backgroundOnly(): boolean {
    return this.fitter.config.backgroundOnly;
  }

  async step(): Promise<void> {
    this.fitter.step();
    await this.fitter.engine.sync();
  }

  log(): Promise<AtlasLog> {
    return this.fitter.log();
  }

  async views(frame: number): Promise<AtlasViews> {
    const m = this.fitter.model;
    const g = { width: this.clip.width, height: this.clip.height, frames: this.clip.frames.length };
    const bake = await bakeFrame(m, g, frame);
    const raster = async (layer: typeof m.background) => {
      const r = layer.levels[layer.levels.length - 1].value.shape[1];
      return rgbImage(await atlasRaster(m, layer), r, r);
    };
    return {
      reconstruction: rgbImage(bake.rgb, g.width, g.height),
      alpha: m.foreground ? greyImage(bake.alpha, g.width, g.height) : null,
      background: await raster(m.background),
      foreground: m.foreground ? await raster(m.foreground) : null,
    };
  }

  save(): Promise<Uint8Array> {
    const c = this.clip;
    return saveAtlas(this.fitter.model, {
      geometry: { width: c.width, height: c.height, frames: c.frames.length },
      config: this.fitter.config,
      iterations: this.iteration,
      frameRate: c.frameRate,
      frameIndices: c.frameIndices,
    });
  }

  dispose(): void {
    this.fitter.dispose();
    if (this.flows) for (const t of Object.values(this.flows)) t.release();
  }
}

export function atlasRunFactory(): AtlasRunFactory {
  const fit = (engine: Engine, clip: VideoClip, config: AtlasConfig) => {
    const frames = framesTensor(engine, clip);
    // One frame has no motion to fit (and no flow).
    const flows = clip.frames.length > 1 ? computeFlows(engine, frames) : null;
    frames.release();
    if (flows) for (const t of Object.values(flows)) t.keep();
    return { fitter: new AtlasFitter(engine, clipPixels(clip), flows, config), flows };
  };
  return {
    async prepare(engine, clip, opts) {
      const { fitter, flows } = fit(engine, clip, decomposeConfig(clip, opts));
      return new FitterRun(fitter, flows, clip);
    },
    async restore(engine, clip, bytes, opts) {
      const saved = await loadAtlas(engine, bytes);
      const { fitter, flows } = fit(engine, clip, { ...saved.info.config, iterations: opts.iterations });
      // The saved parameters into the new fitter's model (same settings, so the same tensors).
      const params = fitter.model.params;
      saved.model.params.forEach((p, i) => engine.copy(p.value, params[i].value, p.value.byteSize));
      saved.model.dispose();
      fitter.continueFrom(saved.info.iterations);
      return new FitterRun(fitter, flows, clip);
    },
  };
}

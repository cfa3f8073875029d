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
import { atlasRaster, bakeFrame, greyImage, layerResolution, rgbImage } from '../video/atlas/atlasRender';
import { clipFlows, clipPixels, framesTensor } from '../video/atlas/clipData';
import type { FlowField } from '../video/flow';
import { chooseLayers, type LayerMode, type MaskSource } from '../video/masks/chooseLayers';
import { motionMasks } from '../video/masks';
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
  /** How the clip is decomposed (two layers or background only), where its masks came from, and why. */
  readonly layers: { mode: LayerMode; source: MaskSource; reason: string };
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

class FitterRun implements AtlasRun {
  constructor(
    private readonly fitter: AtlasFitter,
    private readonly flows: FlowField | null,
    private readonly clip: VideoClip,
    readonly layers: AtlasRun['layers'],
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
      const r = layerResolution(layer);
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
  /**
   * Frames and flows on the device; the layers: the user's masks, else automatic motion masks (two layers when
   * they find an object), else background only (spec of part 1; `chooseLayers`). `config` null: choose here.
   */
  const fit = async (engine: Engine, clip: VideoClip, opts: DecomposeOptions, saved: AtlasConfig | null) => {
    // One frame has no motion to fit (and no flow). The flows run in batches of pairs within a memory budget.
    const flows = clip.frames.length > 1 ? clipFlows(engine, clip) : null;
    if (flows) for (const t of Object.values(flows)) t.keep();
    const needMasks = !saved && !opts.backgroundOnly && !clip.masks && flows !== null;
    const frames = needMasks ? framesTensor(engine, clip).keep() : null;
    try {
      const automatic = frames && flows ? await motionMasks(engine, flows, { frames }) : null;
      const choice = chooseLayers({
        backgroundOnly: saved ? saved.backgroundOnly : opts.backgroundOnly,
        userMasks: clip.masks,
        automatic,
      });
      const config = saved ?? { ...decomposeConfig(clip, opts), backgroundOnly: choice.mode === 'background-only' };
      const pixels = clipPixels(clip, choice.masks);
      const layers = { mode: choice.mode, source: choice.source, reason: choice.reason };
      return { fitter: new AtlasFitter(engine, pixels, flows, config), flows, layers };
    } catch (e) {
      // Out of memory or a lost device while preparing: nothing stays held on the device.
      if (flows) for (const t of Object.values(flows)) t.release();
      throw e;
    } finally {
      frames?.release();
    }
  };
  return {
    async prepare(engine, clip, opts) {
      const { fitter, flows, layers } = await fit(engine, clip, opts, null);
      return new FitterRun(fitter, flows, clip, layers);
    },
    async restore(engine, clip, bytes, opts) {
      const saved = await loadAtlas(engine, bytes);
      const { fitter, flows, layers } = await fit(engine, clip, opts, {
        ...saved.info.config,
        iterations: opts.iterations,
      });
      // The saved parameters into the new fitter's model (same settings, so the same tensors).
      const params = fitter.model.params;
      saved.model.params.forEach((p, i) => engine.copy(p.value, params[i].value, p.value.byteSize));
      saved.model.dispose();
      fitter.continueFrom(saved.info.iterations);
      return new FitterRun(fitter, flows, clip, layers);
    },
  };
}

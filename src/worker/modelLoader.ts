/**
 * Loads the CLIP model the page asks for (self-hosted folder, the Hub, or files picked from disk, through
 * `ModelManager`), with throttled byte progress over all files, cancellation, and one model kept in memory: asking
 * again for the same model answers at once. The vision weights stay on the CPU (they are uploaded per device), so a
 * new device after a loss does not download anything.
 */
import { DEFAULT_MODEL_ID, modelFileList, type Precision } from '../clip/modelFiles';
import { ModelManager, type LoadedFrom, type ModelSource } from '../clip/modelManager';
import { parseOnnx } from '../clip/onnx';
import { ClipTextEncoder } from '../clip/textEncoder';
import { extractVisionWeights, visionConfigFromJson, type VisionWeights } from '../clip/visionWeights';
import type { TextEncoderLike } from '../edit/targets';
import type { ModelProgress, ModelSpec } from './protocol';

/** Progress events for the download, at most this often. */
const PROGRESS_MS = 100;

export interface LoadedModel {
  key: string;
  modelId: string;
  precision: Precision;
  /** Includes the architecture (`visionWeights.config`) the page prices its time estimates with. */
  visionWeights: VisionWeights;
  text: TextEncoderLike & { dispose(): Promise<void> | void };
  cached: boolean;
  sources: LoadedFrom[];
}

/** The files failed to load (the message says which and why), or loaded but are not a usable CLIP model. */
export class ModelUnusableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelUnusableError';
  }
}

/** What identifies a model load: the same key is the same model. */
export function modelKey(spec: ModelSpec): string {
  const picked = spec.pickedFiles?.length ? spec.pickedFiles : null;
  return JSON.stringify([spec.modelId, spec.precision, spec.baseUrl, picked?.map((f) => [f.path, f.file.size])]);
}

export interface ModelLoaderLike {
  readonly current: LoadedModel | null;
  isLoaded(spec: ModelSpec): boolean;
  /** Rejects with ModelLoadError (kind 'cancelled' after `cancel()`) or ModelUnusableError. */
  load(spec: ModelSpec, onProgress: (p: ModelProgress) => void): Promise<LoadedModel>;
  cancel(): void;
  /** Forgets the cached files of a model (Cache Storage). */
  clearCache(modelId: string, baseUrl: string): Promise<void>;
}

export class ModelLoader implements ModelLoaderLike {
  private model: LoadedModel | null = null;
  private abort: AbortController | null = null;

  get current(): LoadedModel | null {
    return this.model;
  }

  isLoaded(spec: ModelSpec): boolean {
    return this.model?.key === modelKey(spec);
  }

  cancel(): void {
    this.abort?.abort();
  }

  async clearCache(modelId: string, baseUrl: string): Promise<void> {
    await new ModelManager({ sources: [{ type: 'self-hosted', baseUrl }, { type: 'hub' }] }).clearCache(modelId);
  }

  async load(spec: ModelSpec, onProgress: (p: ModelProgress) => void): Promise<LoadedModel> {
    const key = modelKey(spec);
    if (this.model?.key === key) return this.model;
    const picked = spec.pickedFiles?.length ? spec.pickedFiles : null;
    const sources: ModelSource[] = [];
    if (!picked || spec.useNetwork) sources.push({ type: 'self-hosted', baseUrl: spec.baseUrl }, { type: 'hub' });
    if (picked) sources.push({ type: 'files', files: picked.map((f) => ({ path: f.path, file: f.file })) });
    const specs = modelFileList(spec.precision);
    // The manifest's sizes are those of the default model; another model's total is known file by file.
    const estimate = spec.modelId === DEFAULT_MODEL_ID;
    const perFile = new Map<string, { loaded: number; total: number | null }>();
    let lastPost = 0;
    const abort = new AbortController();
    this.abort = abort;
    let files;
    try {
      files = await new ModelManager({ sources }).load({
        modelId: spec.modelId,
        precision: spec.precision,
        signal: abort.signal,
        onProgress: (ev) => {
          perFile.set(ev.file, { loaded: ev.loaded, total: ev.total });
          const now = performance.now();
          const fileDone = ev.total !== null && ev.loaded >= ev.total;
          if (now - lastPost < PROGRESS_MS && !fileDone) return;
          lastPost = now;
          let loaded = 0;
          let total = 0;
          for (const s of specs) {
            const p = perFile.get(s.path);
            loaded += p?.loaded ?? 0;
            total += p ? (p.total ?? p.loaded) : estimate ? s.approxBytes : 0;
          }
          onProgress({
            type: 'modelProgress',
            file: ev.file,
            source: ev.source,
            loaded,
            total: Math.max(total, loaded),
            percent: total > 0 ? Math.min(100, (100 * loaded) / total) : 0,
            fileLoaded: ev.loaded,
            fileTotal: ev.total,
          });
        },
      });
    } finally {
      if (this.abort === abort) this.abort = null;
    }
    let model: LoadedModel;
    try {
      const config = visionConfigFromJson(files.config);
      const visionWeights = extractVisionWeights(parseOnnx(files.visionModel!), config);
      const text = await ClipTextEncoder.fromModelFiles(files);
      const sourcesUsed = Object.values(files.sources) as LoadedFrom[];
      model = {
        key,
        modelId: spec.modelId,
        precision: spec.precision,
        visionWeights,
        text,
        cached: sourcesUsed.length > 0 && sourcesUsed.every((s) => s === 'cache'),
        sources: sourcesUsed,
      };
    } catch (e) {
      throw new ModelUnusableError(
        `The model files loaded but could not be used: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    const old = this.model;
    this.model = model;
    if (old) void old.text.dispose();
    return model;
  }
}

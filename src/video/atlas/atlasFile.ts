/**
 * A fitted decomposition as one safetensors file (`atlas.safetensors` in Node, the same bytes in the browser's
 * storage): the model's parameters, its settings and the clip geometry it was fitted on, so an edit can re-run
 * without refitting (the per-frame uv and α are baked from it in a pass, `atlasRender.ts`).
 */
import { loadCheckpoint, saveCheckpoint } from '../../nn/checkpoint';
import { decodeSafetensors } from '../../nn/safetensors';
import type { Engine } from '../../gpu/engine';
import { atlasConfig, type AtlasConfig } from './atlasConfig';
import { AtlasModel } from './atlasModel';
import type { FrameGeometry } from './coords';

export const ATLAS_FORMAT = 'text2live-atlas-v1';

export class AtlasFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AtlasFileError';
  }
}

export interface AtlasFileInfo {
  geometry: FrameGeometry;
  config: AtlasConfig;
  /** Iterations fitted. */
  iterations: number;
  /** The clip's frame rate and source frame indices (for re-rendering at the right times). */
  frameRate: number;
  frameIndices: number[];
}

export async function saveAtlas(model: AtlasModel, info: AtlasFileInfo): Promise<Uint8Array> {
  return saveCheckpoint(model.params, {
    metadata: {
      format: ATLAS_FORMAT,
      geometry: JSON.stringify(info.geometry),
      config: JSON.stringify(info.config),
      iterations: String(info.iterations),
      frameRate: String(info.frameRate),
      frameIndices: JSON.stringify(info.frameIndices),
    },
  });
}

function parseJson(meta: Record<string, string>, key: string): unknown {
  const text = meta[key];
  if (text === undefined) throw new AtlasFileError(`The atlas file has no "${key}".`);
  try {
    return JSON.parse(text);
  } catch {
    throw new AtlasFileError(`The atlas file's "${key}" is not JSON.`);
  }
}

/** Reads the file's settings and geometry and checks them (no GPU). */
export function readAtlasInfo(bytes: Uint8Array): AtlasFileInfo {
  let meta: Record<string, string>;
  try {
    meta = decodeSafetensors(bytes).metadata;
  } catch (e) {
    throw new AtlasFileError(`This is not an atlas file: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (meta.format !== ATLAS_FORMAT) throw new AtlasFileError('This file is not a Text2LIVE atlas.');
  const g = parseJson(meta, 'geometry') as FrameGeometry;
  const ok = (v: unknown, max: number) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= max;
  if (!g || !ok(g.width, 8192) || !ok(g.height, 8192) || !ok(g.frames, 10_000)) {
    throw new AtlasFileError('The atlas file\'s "geometry" is not a clip size.');
  }
  let config: AtlasConfig;
  try {
    config = atlasConfig(g.width, parseJson(meta, 'config') as Partial<AtlasConfig>);
  } catch (e) {
    throw new AtlasFileError(`The atlas file's settings are invalid: ${e instanceof Error ? e.message : String(e)}`);
  }
  const frameIndices = parseJson(meta, 'frameIndices') as number[];
  if (
    !Array.isArray(frameIndices) ||
    frameIndices.length !== g.frames ||
    !frameIndices.every((i) => Number.isInteger(i))
  ) {
    throw new AtlasFileError('The atlas file\'s "frameIndices" do not match its frames.');
  }
  const iterations = Number(meta.iterations);
  const frameRate = Number(meta.frameRate);
  if (!Number.isInteger(iterations) || iterations < 0)
    throw new AtlasFileError('The atlas file\'s "iterations" is invalid.');
  if (!(frameRate > 0 && frameRate < 1000)) throw new AtlasFileError('The atlas file\'s "frameRate" is invalid.');
  return { geometry: g, config, iterations, frameRate, frameIndices };
}

/** The model of an atlas file, on this engine. */
export async function loadAtlas(
  engine: Engine,
  bytes: Uint8Array,
): Promise<{ model: AtlasModel; info: AtlasFileInfo }> {
  const info = readAtlasInfo(bytes);
  const model = AtlasModel.create(engine, info.config);
  try {
    await loadCheckpoint(bytes, model.params);
  } catch (e) {
    model.dispose();
    throw new AtlasFileError(
      `The atlas file's tensors do not match its settings: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  return { model, info };
}

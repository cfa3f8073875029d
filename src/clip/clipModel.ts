/** The two CLIP towers an edit needs, built from loaded model files (browser or Node). */
import type { Engine } from '../gpu/engine';
import type { ClipModelFiles } from './modelManager';
import { parseOnnx } from './onnx';
import { ClipTextEncoder } from './textEncoder';
import { ClipVisionTower } from './vision';
import { extractVisionWeights, visionConfigFromJson } from './visionWeights';

export interface ClipModel {
  vision: ClipVisionTower;
  text: ClipTextEncoder;
}

export async function createClipModel(engine: Engine, files: ClipModelFiles): Promise<ClipModel> {
  if (!files.config || !files.visionModel)
    throw new Error('createClipModel: config.json and the vision model are required');
  const config = visionConfigFromJson(files.config);
  const vision = new ClipVisionTower(engine, extractVisionWeights(parseOnnx(files.visionModel), config));
  const text = await ClipTextEncoder.fromModelFiles(files);
  return { vision, text };
}

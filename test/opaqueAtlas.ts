/**
 * An untrained decomposition for tests that need one to edit: the atlas model's mappings start near
 * uv = ½·(x, y), and its α is sharpened (last layer ×40, bias 2) so that part of every frame is opaque foreground,
 * enough to train and render on whatever the atlas's quality.
 */
import type { Engine } from '../src/gpu/engine';
import { atlasConfig, type AtlasConfig } from '../src/video/atlas/atlasConfig';
import { AtlasModel } from '../src/video/atlas/atlasModel';

/** The small networks the tests' decompositions use. */
export function tinyAtlasConfig(width: number): AtlasConfig {
  return atlasConfig(width, { mappingWidth: 8, alphaWidth: 8, hiddenLayers: 1, alphaOctaves: 2, seed: 3 });
}

export async function opaqueAtlasModel(engine: Engine, config: AtlasConfig): Promise<AtlasModel> {
  const model = AtlasModel.create(engine, config);
  const last = model.alpha!.layers[model.alpha!.layers.length - 1];
  const w = await last.weight.value.read();
  engine.upload(
    last.weight.value.buffer,
    w.map((v) => 40 * v),
  );
  engine.upload(last.bias.value.buffer, new Float32Array([2]));
  return model;
}

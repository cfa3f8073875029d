import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../nn/safetensors';
import {
  OnnxDataType,
  QUANTIZED_MODEL_MESSAGE,
  float16Table,
  parseOnnx,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
} from './onnx';
import {
  extractVisionWeights,
  visionConfigFromJson,
  visionWeightsToStateDict,
  type VisionConfig,
  type VisionWeights,
} from './visionWeights';

const TINY = fileURLToPath(new URL('../../models/tiny-clip/', import.meta.url));
const load = (path: string) => new Uint8Array(readFileSync(TINY + path));

const config = visionConfigFromJson(JSON.parse(new TextDecoder().decode(load('config.json'))));
const stateDict = decodeSafetensors(load('vision_state_dict.safetensors')).tensors;
const fp32 = parseOnnx(load('onnx/vision_model.onnx'));
const fp16 = parseOnnx(load('onnx/vision_model_fp16.onnx'));

function expectExactlyStateDict(w: VisionWeights): void {
  const got = visionWeightsToStateDict(w);
  expect([...got.keys()].sort()).toEqual([...stateDict.keys()].sort());
  for (const [name, ref] of stateDict) {
    const t = got.get(name)!;
    expect(t.shape, name).toEqual(ref.shape);
    expect(t.data.length, name).toBe(ref.data.length);
    let mismatches = 0;
    for (let i = 0; i < ref.data.length; i++) if (!Object.is(t.data[i], ref.data[i])) mismatches++;
    expect(mismatches, name).toBe(0);
  }
}

// ---- in-memory graph edits, to exercise the other export shapes ----------------------------------------------
function cloneModel(m: OnnxModel): OnnxModel {
  return {
    ...m,
    graph: {
      ...m.graph,
      nodes: m.graph.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs] })),
      initializers: [...m.graph.initializers],
    },
  };
}
function f32Tensor(name: string, dims: number[], data: Float32Array): OnnxTensor {
  return {
    name,
    dims,
    dataType: OnnxDataType.FLOAT,
    rawData: new Uint8Array(data.buffer.slice(0)),
    floatData: null,
    int32Data: null,
    int64Data: null,
    doubleData: null,
    uint64Data: null,
    stringData: null,
    external: false,
    externalData: {},
  };
}
const mkNode = (name: string, opType: string, inputs: string[], outputs: string[]): OnnxNode => ({
  name,
  opType,
  domain: '',
  inputs,
  outputs,
  attributes: [],
});
const byName = (m: OnnxModel, name: string) => m.graph.nodes.find((n) => n.name === name)!;
function transposed(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

describe('visionConfigFromJson', () => {
  it('reads the tiny config', () => {
    expect(config).toEqual<VisionConfig>({
      hiddenSize: 32,
      intermediateSize: 128,
      numHiddenLayers: 2,
      numAttentionHeads: 2,
      numChannels: 3,
      imageSize: 56,
      patchSize: 8,
      layerNormEps: 1e-5,
      projectionDim: 16,
      hiddenAct: 'quick_gelu',
    });
  });

  it('reads a ViT-B/32 config and fills Hugging Face defaults', () => {
    const real = {
      projection_dim: 512,
      vision_config: {
        hidden_act: 'quick_gelu',
        hidden_size: 768,
        image_size: 224,
        intermediate_size: 3072,
        layer_norm_eps: 1e-5,
        num_attention_heads: 12,
        num_hidden_layers: 12,
        patch_size: 32,
        projection_dim: 512,
      },
    };
    const c = visionConfigFromJson(real);
    expect(c).toMatchObject({
      hiddenSize: 768,
      numHiddenLayers: 12,
      patchSize: 32,
      projectionDim: 512,
      numChannels: 3,
    });
    expect(visionConfigFromJson({ vision_config: { patch_size: 16 }, projection_dim: 256 })).toMatchObject({
      patchSize: 16,
      hiddenSize: 768,
      projectionDim: 256,
    });
    expect(() => visionConfigFromJson({ vision_config: { hidden_size: 'big' } })).toThrow(/hidden_size/);
    expect(() => visionConfigFromJson({ vision_config: { hidden_size: 100, num_attention_heads: 12 } })).toThrow(
      /divisible/,
    );
  });
});

describe('extractVisionWeights', () => {
  it('fp32 file: equals the PyTorch state_dict exactly', () => {
    const w = extractVisionWeights(fp32, config);
    expect(w.storedAs).toBe('float32');
    expect(w.layers).toHaveLength(2);
    expect(w.preLayerNorm.eps).toBe(1e-5);
    expect(w.layers[1].layerNorm2.eps).toBe(1e-5);
    expect(w.patchEmbedding.shape).toEqual([32, 3, 8, 8]);
    expect(w.layers[0].fc1.weight.shape).toEqual([128, 32]);
    expect(w.visualProjection.shape).toEqual([16, 32]);
    expect(w.patchEmbedding.f16).toBeUndefined();
    expectExactlyStateDict(w);
  });

  it('fp16 file: equals the state_dict within float16 rounding, and keeps the half bits on request', () => {
    const w = extractVisionWeights(fp16, config, { keepFloat16: true });
    expect(w.storedAs).toBe('float16');
    expect(w.preLayerNorm.eps).toBe(1e-5);
    const got = visionWeightsToStateDict(w);
    expect([...got.keys()].sort()).toEqual([...stateDict.keys()].sort());
    const table = float16Table();
    for (const [name, ref] of stateDict) {
      const t = got.get(name)!;
      expect(t.shape, name).toEqual(ref.shape);
      expect(t.f16, name).toBeDefined();
      let worst = 0;
      let bitMismatches = 0;
      for (let i = 0; i < ref.data.length; i++) {
        // Round-to-nearest half: error ≤ half an ulp (2^-11 relative), ≤ 2^-25 absolute in the subnormal range.
        const bound = Math.max(Math.abs(ref.data[i]) * 2 ** -11, 2 ** -25);
        worst = Math.max(worst, Math.abs(t.data[i] - ref.data[i]) / bound);
        if (table[t.f16![i]] !== t.data[i]) bitMismatches++;
      }
      expect(worst, name).toBeLessThanOrEqual(1);
      expect(worst, name).toBeGreaterThan(0); // really rounded, not the fp32 values
      expect(bitMismatches, name).toBe(0);
    }
  });

  it('follows Identity nodes (shared weights) to the initializer', () => {
    const m = cloneModel(fp32);
    const mm = byName(m, '/vision_model/encoder/layers.1/mlp/fc2/MatMul');
    const weightName = mm.inputs[1];
    const init = m.graph.initializers.findIndex((t) => t.name === weightName);
    m.graph.initializers[init] = { ...m.graph.initializers[init], name: 'shared_weight' };
    m.graph.nodes.unshift(mkNode('/Identity_7', 'Identity', ['shared_weight'], [weightName]));
    expectExactlyStateDict(extractVisionWeights(m, config));
  });

  it('reads LayerNormalization nodes (opset ≥ 17 exports)', () => {
    const m = cloneModel(fp32);
    for (const scope of ['/vision_model/encoder/layers.0/layer_norm1', '/vision_model/post_layernorm']) {
      const nodes = m.graph.nodes.filter((n) => n.name.startsWith(`${scope}/`));
      const first = nodes.find((n) => n.opType === 'ReduceMean')!;
      const mul = nodes.find((n) => n.name === `${scope}/Mul`)!;
      const add = nodes.find((n) => n.name === `${scope}/Add_1`)!;
      const ln = mkNode(
        `${scope}/LayerNormalization`,
        'LayerNormalization',
        [first.inputs[0], mul.inputs[1], add.inputs[1]],
        add.outputs,
      );
      ln.attributes.push({
        ...{ name: 'epsilon', type: 1, f: 1e-5, i: null, s: null, t: null, g: null },
        floats: [],
        ints: [],
        strings: [],
        tensors: [],
        graphs: [],
      });
      const at = m.graph.nodes.indexOf(first);
      m.graph.nodes = m.graph.nodes.filter((n) => !nodes.includes(n));
      m.graph.nodes.splice(at, 0, ln);
    }
    const w = extractVisionWeights(m, config);
    expect(m.graph.nodes.filter((n) => n.opType === 'LayerNormalization')).toHaveLength(2);
    expect(w.postLayerNorm.eps).toBeCloseTo(1e-5, 12);
    expectExactlyStateDict(w);
  });

  it('reads a folded position table and a Gemm projection', () => {
    const m = cloneModel(fp32);
    const gather = byName(m, '/vision_model/embeddings/position_embedding/Gather');
    const table = stateDict.get('vision_model.embeddings.position_embedding.weight')!;
    m.graph.nodes = m.graph.nodes.filter((n) => n !== gather);
    m.graph.initializers.push(f32Tensor(gather.outputs[0], [1, 50, 32], table.data.slice()));
    const mm = byName(m, '/visual_projection/MatMul');
    const proj = stateDict.get('visual_projection.weight')!; // [16, 32]
    const gemm = mkNode('/visual_projection/Gemm', 'Gemm', [mm.inputs[0], 'proj_t'], mm.outputs);
    gemm.attributes.push({
      name: 'transB',
      type: 2,
      f: null,
      i: 1,
      s: null,
      t: null,
      g: null,
      floats: [],
      ints: [],
      strings: [],
      tensors: [],
      graphs: [],
    });
    m.graph.nodes[m.graph.nodes.indexOf(mm)] = gemm;
    m.graph.initializers.push(f32Tensor('proj_t', [16, 32], proj.data.slice()));
    expectExactlyStateDict(extractVisionWeights(m, config));
    // The same projection given as an untransposed Gemm B.
    const m2 = cloneModel(m);
    const g2 = byName(m2, '/visual_projection/Gemm');
    m2.graph.nodes[m2.graph.nodes.indexOf(g2)] = { ...g2, inputs: [g2.inputs[0], 'proj'], attributes: [] };
    m2.graph.initializers.push(f32Tensor('proj', [32, 16], transposed(proj.data, 16, 32)));
    expectExactlyStateDict(extractVisionWeights(m2, config));
  });

  it('gives clear errors for a config that does not fit, a text model and a quantized model', () => {
    expect(() => extractVisionWeights(fp32, { ...config, numHiddenLayers: 3 })).toThrow(
      /2 encoder layers but config.json says num_hidden_layers = 3/,
    );
    expect(() => extractVisionWeights(fp32, { ...config, hiddenSize: 64, numAttentionHeads: 2 })).toThrow(
      /does config.json belong to this model/,
    );
    expect(() => extractVisionWeights(fp32, { ...config, intermediateSize: 256 })).toThrow(
      /mlp\/fc1: MatMul weight "onnx::MatMul_\d+" has shape \[32,128\], expected \[32,256\]/,
    );
    const text = parseOnnx(load('onnx/text_model.onnx'));
    expect(() => extractVisionWeights(text, config)).toThrow(
      /no node named "\/vision_model\/embeddings\/patch_embedding\/Conv"/,
    );
    const q = cloneModel(fp32);
    const mm = byName(q, '/vision_model/encoder/layers.0/mlp/fc1/MatMul');
    const i = q.graph.initializers.findIndex((t) => t.name === mm.inputs[1]);
    q.graph.initializers[i] = { ...q.graph.initializers[i], dataType: OnnxDataType.INT8 };
    expect(() => extractVisionWeights(q, config)).toThrow(QUANTIZED_MODEL_MESSAGE);
  });
});

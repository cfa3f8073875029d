/**
 * CLIP vision-tower weights read from a Hugging Face / transformers.js ONNX export (`onnx/vision_model.onnx` or
 * `onnx/vision_model_fp16.onnx`), in PyTorch layouts, for our own engine. Browser and Node: no Node APIs.
 *
 * Weights are found by GRAPH STRUCTURE, not by initializer name (exports name the transposed Linear weights
 * `onnx::MatMul_1234`, and fp16 conversion or weight sharing may add Identity/Cast nodes): the node scopes that
 * torch ≥ 1.13 writes into node names (`/vision_model/encoder/layers.N/self_attn/q_proj/MatMul`) locate each module,
 * and the module's initializer inputs are its weights.
 *
 * - Linear: the `<scope>/MatMul` node's constant input ([in, out] → transposed to PyTorch's [out, in]) and the
 *   constant input of the Add consuming its output (bias); a `<scope>/Gemm` node is read as well.
 * - LayerNorm: a `LayerNormalization` node in the scope, or the decomposed form (opset < 17: ReduceMean, Sub, Pow,
 *   ReduceMean, Add ε, Sqrt, Div, Mul γ, Add β): γ and β are the constant inputs of the final Mul and of the Add
 *   that consumes it; ε is read from the Add whose constant input is a scalar.
 * - Patch embedding: `/vision_model/embeddings/patch_embedding/Conv` weight [hidden, 3, p, p] (no bias).
 * - Class embedding: the constant (through Expand/Reshape/Unsqueeze) concatenated before the patch tokens.
 * - Position embedding: the other input of the Add after that Concat: a Gather(table, indices) or a constant.
 * - Projection: `/visual_projection/MatMul` (no bias), transposed to [projection_dim, hidden].
 *
 * fp16 initializers are converted to float32; with `keepFloat16` their bit patterns are kept as well (in the same
 * PyTorch layout).
 */

import {
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  OnnxDataType,
  OnnxUnsupportedError,
  QUANTIZED_MODEL_MESSAGE,
  dataTypeName,
  findAttribute,
  quantizationReason,
  tensorElementCount,
  tensorFloat16Bits,
  tensorToFloat32,
  tensorToNumbers,
} from './onnx';

/** The `vision_config` of a CLIP config.json (Hugging Face CLIPVisionConfig), camel-cased. */
export interface VisionConfig {
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numChannels: number;
  imageSize: number;
  patchSize: number;
  layerNormEps: number;
  projectionDim: number;
  hiddenAct: string;
}

/** Hugging Face CLIPVisionConfig defaults (= ViT-B/32), used for keys a config.json leaves out. */
const VISION_DEFAULTS: VisionConfig = {
  hiddenSize: 768,
  intermediateSize: 3072,
  numHiddenLayers: 12,
  numAttentionHeads: 12,
  numChannels: 3,
  imageSize: 224,
  patchSize: 32,
  layerNormEps: 1e-5,
  projectionDim: 512,
  hiddenAct: 'quick_gelu',
};

export class VisionWeightsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VisionWeightsError';
  }
}

/**
 * Reads the vision config from a parsed config.json: a full CLIPConfig (`vision_config`, top-level `projection_dim`)
 * or a bare CLIPVisionConfig. Missing keys take Hugging Face's defaults.
 */
export function visionConfigFromJson(json: unknown): VisionConfig {
  if (!json || typeof json !== 'object') throw new VisionWeightsError('config.json is not a JSON object');
  const root = json as Record<string, unknown>;
  const vc = (root.vision_config ?? root) as Record<string, unknown>;
  if (!vc || typeof vc !== 'object') throw new VisionWeightsError('config.json: vision_config is not an object');
  const num = (key: string, fallback: number): number => {
    const v = vc[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new VisionWeightsError(`config.json: vision_config.${key} = ${JSON.stringify(v)} is not a positive number`);
    }
    return v;
  };
  const top = root.projection_dim;
  if (top !== undefined && top !== null && !(typeof top === 'number' && Number.isInteger(top) && top > 0)) {
    throw new VisionWeightsError(`config.json: projection_dim = ${JSON.stringify(top)} is not a positive integer`);
  }
  const topProjection = typeof top === 'number' ? top : VISION_DEFAULTS.projectionDim;
  const config: VisionConfig = {
    hiddenSize: num('hidden_size', VISION_DEFAULTS.hiddenSize),
    intermediateSize: num('intermediate_size', VISION_DEFAULTS.intermediateSize),
    numHiddenLayers: num('num_hidden_layers', VISION_DEFAULTS.numHiddenLayers),
    numAttentionHeads: num('num_attention_heads', VISION_DEFAULTS.numAttentionHeads),
    numChannels: num('num_channels', VISION_DEFAULTS.numChannels),
    imageSize: num('image_size', VISION_DEFAULTS.imageSize),
    patchSize: num('patch_size', VISION_DEFAULTS.patchSize),
    layerNormEps: num('layer_norm_eps', VISION_DEFAULTS.layerNormEps),
    projectionDim: num('projection_dim', topProjection),
    hiddenAct: typeof vc.hidden_act === 'string' ? vc.hidden_act : VISION_DEFAULTS.hiddenAct,
  };
  const integers = [
    'hiddenSize',
    'intermediateSize',
    'numHiddenLayers',
    'numAttentionHeads',
    'numChannels',
    'imageSize',
    'patchSize',
    'projectionDim',
  ] as const;
  for (const key of integers) {
    if (!Number.isInteger(config[key])) throw new VisionWeightsError(`config.json: ${key} is not an integer`);
  }
  if (config.hiddenSize % config.numAttentionHeads !== 0) {
    throw new VisionWeightsError(
      `config.json: hidden_size ${config.hiddenSize} is not divisible by num_attention_heads ${config.numAttentionHeads}`,
    );
  }
  return config;
}

export interface WeightTensor {
  shape: number[];
  data: Float32Array;
  /** IEEE half bits in the same layout, when the file stored this tensor as float16 and `keepFloat16` was set. */
  f16?: Uint16Array;
}

export interface LinearWeights {
  /** [out, in] (PyTorch nn.Linear layout). */
  weight: WeightTensor;
  /** [out] */
  bias: WeightTensor;
}

export interface LayerNormWeights {
  weight: WeightTensor;
  bias: WeightTensor;
  /** ε found in the graph (the config's value when the graph does not show it). */
  eps: number;
}

export interface VisionLayerWeights {
  layerNorm1: LayerNormWeights;
  qProj: LinearWeights;
  kProj: LinearWeights;
  vProj: LinearWeights;
  outProj: LinearWeights;
  layerNorm2: LayerNormWeights;
  fc1: LinearWeights;
  fc2: LinearWeights;
}

export interface VisionWeights {
  config: VisionConfig;
  /** Storage type of the weights in the file. */
  storedAs: 'float32' | 'float16' | 'mixed';
  /** [hidden, channels, patch, patch] */
  patchEmbedding: WeightTensor;
  /** [hidden] */
  classEmbedding: WeightTensor;
  /** [1 + grid², hidden] */
  positionEmbedding: WeightTensor;
  preLayerNorm: LayerNormWeights;
  layers: VisionLayerWeights[];
  postLayerNorm: LayerNormWeights;
  /** [projection_dim, hidden] (nn.Linear layout, no bias). */
  visualProjection: WeightTensor;
}

export interface ExtractOptions {
  /** Also keep the float16 bit patterns of tensors stored as float16. */
  keepFloat16?: boolean;
}

const VM = '/vision_model';
const FLOAT_TYPES = new Set<number>([
  OnnxDataType.FLOAT,
  OnnxDataType.FLOAT16,
  OnnxDataType.BFLOAT16,
  OnnxDataType.DOUBLE,
]);
/** Ops a weight may pass through between its initializer and the module's node. */
const PASS_THROUGH = new Set(['Identity', 'Cast']);
/** Ops the class embedding passes through before the Concat (broadcast to the batch). */
const RESHAPING = new Set(['Identity', 'Cast', 'Expand', 'Reshape', 'Unsqueeze', 'Squeeze', 'Tile', 'Flatten']);

interface Const {
  tensor: OnnxTensor;
}

class GraphIndex {
  readonly byName = new Map<string, OnnxNode>();
  readonly producer = new Map<string, OnnxNode>();
  readonly consumers = new Map<string, OnnxNode[]>();
  readonly initializers = new Map<string, OnnxTensor>();

  constructor(readonly model: OnnxModel) {
    const g = model.graph;
    for (const t of g.initializers) this.initializers.set(t.name, t);
    for (const n of g.nodes) {
      if (n.name) this.byName.set(n.name, n);
      for (const o of n.outputs) this.producer.set(o, n);
      for (const i of n.inputs) {
        if (!i) continue;
        const list = this.consumers.get(i);
        if (list) list.push(n);
        else this.consumers.set(i, [n]);
      }
    }
  }

  /** The constant behind a value: an initializer or Constant node, through Identity/Cast nodes. */
  constant(value: string, through: Set<string> = PASS_THROUGH): Const | null {
    for (let hops = 0; hops < 32 && value; hops++) {
      const init = this.initializers.get(value);
      if (init) return { tensor: init };
      const p = this.producer.get(value);
      if (!p) return null;
      if (p.opType === 'Constant') {
        const t = findAttribute(p, 'value')?.t;
        return t ? { tensor: t } : null;
      }
      if (!through.has(p.opType)) return null;
      value = p.inputs[0];
    }
    return null;
  }

  node(name: string): OnnxNode | undefined {
    return this.byName.get(name);
  }

  /** Node indices sorted by name: the nodes of a scope are one run of it (scope() costs O(log n + found)). */
  private sortedByName: number[] | null = null;

  /** Nodes whose name lies in `scope/`, in graph order. */
  scope(scope: string): OnnxNode[] {
    const prefix = `${scope}/`;
    const nodes = this.model.graph.nodes;
    const sorted = (this.sortedByName ??= nodes
      .map((_, i) => i)
      .sort((a, b) => (nodes[a].name < nodes[b].name ? -1 : nodes[a].name > nodes[b].name ? 1 : a - b)));
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (nodes[sorted[mid]].name < prefix) lo = mid + 1;
      else hi = mid;
    }
    const found: number[] = [];
    for (let k = lo; k < sorted.length && nodes[sorted[k]].name.startsWith(prefix); k++) found.push(sorted[k]);
    return found.sort((a, b) => a - b).map((i) => nodes[i]);
  }

  requireNode(names: string[], what: string): OnnxNode {
    for (const name of names) {
      const n = this.node(name);
      if (n) return n;
    }
    throw new VisionWeightsError(
      `${what}: the ONNX graph has no node named ${names.map((n) => `"${n}"`).join(' or ')}. ` +
        'Expected a CLIP vision model exported from Hugging Face (transformers.js layout, torch ≥ 1.13 node names).',
    );
  }
}

class Extractor {
  readonly index: GraphIndex;
  readonly storedTypes = new Set<number>();

  constructor(
    model: OnnxModel,
    readonly config: VisionConfig,
    readonly keepFloat16: boolean,
  ) {
    this.index = new GraphIndex(model);
  }

  read(c: Const, what: string, expectedShape: number[]): WeightTensor {
    const t = c.tensor;
    if (t.dataType !== OnnxDataType.FLOAT && t.dataType !== OnnxDataType.FLOAT16) {
      if (t.dataType === OnnxDataType.INT8 || t.dataType === OnnxDataType.UINT8) {
        throw new OnnxUnsupportedError(QUANTIZED_MODEL_MESSAGE);
      }
      if (t.dataType !== OnnxDataType.BFLOAT16 && t.dataType !== OnnxDataType.DOUBLE) {
        throw new VisionWeightsError(`${what}: initializer "${t.name}" has type ${dataTypeName(t.dataType)}`);
      }
    }
    const n = expectedShape.reduce((a, b) => a * b, 1);
    if (tensorElementCount(t) !== n) {
      throw new VisionWeightsError(
        `${what}: initializer "${t.name}" has shape [${t.dims.join(',')}], expected ` +
          `[${expectedShape.join(',')}] from config.json; does config.json belong to this model?`,
      );
    }
    this.storedTypes.add(t.dataType);
    const out: WeightTensor = { shape: [...expectedShape], data: tensorToFloat32(t) };
    if (this.keepFloat16 && t.dataType === OnnxDataType.FLOAT16) out.f16 = tensorFloat16Bits(t)!.slice();
    return out;
  }

  /** The single constant input of a node. */
  constInput(node: OnnxNode, what: string): Const {
    const found = node.inputs.map((i) => this.index.constant(i)).filter((c): c is Const => c !== null);
    if (found.length !== 1) {
      throw new VisionWeightsError(
        `${what}: node "${node.name}" (${node.opType}) has ${found.length} constant inputs, expected exactly one`,
      );
    }
    return found[0];
  }

  linear(scope: string, inFeatures: number, outFeatures: number, hasBias: boolean): LinearWeights {
    const gemm = this.index.node(`${scope}/Gemm`);
    if (gemm && !this.index.node(`${scope}/MatMul`)) return this.gemm(gemm, scope, inFeatures, outFeatures, hasBias);
    const mm = this.index.requireNode([`${scope}/MatMul`, `${scope}/Gemm`], scope);
    const w = this.constInput(mm, scope);
    const dims = w.tensor.dims;
    if (dims.length !== 2 || dims[0] !== inFeatures || dims[1] !== outFeatures) {
      throw new VisionWeightsError(
        `${scope}: MatMul weight "${w.tensor.name}" has shape [${dims.join(',')}], expected [${inFeatures},` +
          `${outFeatures}] (ONNX [in, out]) from config.json; does config.json belong to this model?`,
      );
    }
    const weight = transpose2d(this.read(w, scope, [inFeatures, outFeatures]));
    if (!hasBias) return { weight, bias: zeros(outFeatures) };
    const add = (this.index.consumers.get(mm.outputs[0]) ?? []).find(
      (n) => n.opType === 'Add' && n.inputs.some((i) => this.index.constant(i)),
    );
    if (!add) {
      throw new VisionWeightsError(`${scope}: no Add with a bias initializer after "${mm.name}"`);
    }
    return { weight, bias: this.read(this.constInput(add, scope), `${scope} bias`, [outFeatures]) };
  }

  gemm(node: OnnxNode, scope: string, inFeatures: number, outFeatures: number, hasBias: boolean): LinearWeights {
    const b = this.index.constant(node.inputs[1]);
    if (!b) throw new VisionWeightsError(`${scope}: Gemm "${node.name}" has no constant B input`);
    const transB = findAttribute(node, 'transB')?.i ?? 0;
    const alpha = findAttribute(node, 'alpha')?.f ?? 1;
    const beta = findAttribute(node, 'beta')?.f ?? 1;
    const transA = findAttribute(node, 'transA')?.i ?? 0;
    if (transA) throw new VisionWeightsError(`${scope}: Gemm "${node.name}" with transA is not supported`);
    let weight = transB
      ? this.read(b, scope, [outFeatures, inFeatures])
      : transpose2d(this.read(b, scope, [inFeatures, outFeatures]));
    if (alpha !== 1) weight = scaled(weight, alpha);
    let bias = zeros(outFeatures);
    const c = node.inputs[2] ? this.index.constant(node.inputs[2]) : null;
    if (c) bias = this.read(c, `${scope} bias`, [outFeatures]);
    if (beta !== 1) bias = scaled(bias, beta);
    if (!hasBias && c) throw new VisionWeightsError(`${scope}: unexpected bias in Gemm "${node.name}"`);
    return { weight, bias };
  }

  layerNorm(scopes: string[]): LayerNormWeights {
    const d = this.config.hiddenSize;
    for (const scope of scopes) {
      const nodes = this.index.scope(scope);
      if (nodes.length === 0) continue;
      const ln = nodes.find((n) => n.opType === 'LayerNormalization');
      if (ln) {
        const w = this.index.constant(ln.inputs[1]);
        if (!w) throw new VisionWeightsError(`${scope}: LayerNormalization "${ln.name}" has no constant scale`);
        const b = ln.inputs[2] ? this.index.constant(ln.inputs[2]) : null;
        return {
          weight: this.read(w, `${scope} weight`, [d]),
          bias: b ? this.read(b, `${scope} bias`, [d]) : zeros(d),
          eps: findAttribute(ln, 'epsilon')?.f ?? 1e-5,
        };
      }
      // Decomposed: the Mul by γ (a [d] constant) whose output feeds the Add of β (a [d] constant).
      const inScope = new Set(nodes);
      const vectorConst = (node: OnnxNode): Const | null => {
        const cs = node.inputs.map((i) => this.index.constant(i));
        const hits = cs.filter((c): c is Const => c !== null && tensorElementCount(c.tensor) === d);
        return hits.length === 1 && cs.filter((c) => c === null).length === 1 ? hits[0] : null;
      };
      const pairs: Array<[Const, Const]> = [];
      for (const mul of nodes) {
        if (mul.opType !== 'Mul') continue;
        const gamma = vectorConst(mul);
        if (!gamma) continue;
        for (const add of this.index.consumers.get(mul.outputs[0]) ?? []) {
          if (add.opType !== 'Add' || !inScope.has(add)) continue;
          const beta = vectorConst(add);
          if (beta) pairs.push([gamma, beta]);
        }
      }
      if (pairs.length !== 1) {
        throw new VisionWeightsError(
          `${scope}: expected one LayerNormalization node or one decomposed LayerNorm (Mul γ → Add β with [${d}] ` +
            `constants), found ${pairs.length} candidates`,
        );
      }
      return {
        weight: this.read(pairs[0][0], `${scope} weight`, [d]),
        bias: this.read(pairs[0][1], `${scope} bias`, [d]),
        eps: this.decomposedEps(nodes),
      };
    }
    throw new VisionWeightsError(
      `the ONNX graph has no nodes under ${scopes.map((s) => `"${s}/"`).join(' or ')}. Expected a CLIP vision model ` +
        'exported from Hugging Face (transformers.js layout, torch ≥ 1.13 node names).',
    );
  }

  /**
   * ε of a decomposed LayerNorm: the scalar constant added to the variance (a ReduceMean output). The config's value
   * when the graph's is that value rounded (to float32 or float16), or when the graph does not show it.
   */
  decomposedEps(nodes: OnnxNode[]): number {
    const configured = this.config.layerNormEps;
    for (const add of nodes) {
      if (add.opType !== 'Add') continue;
      const fromMean = add.inputs.some((i) => this.index.producer.get(i)?.opType === 'ReduceMean');
      if (!fromMean) continue;
      for (const i of add.inputs) {
        const c = this.index.constant(i);
        if (!c || tensorElementCount(c.tensor) !== 1 || !FLOAT_TYPES.has(c.tensor.dataType)) continue;
        const eps = tensorToFloat32(c.tensor)[0];
        // float16 rounding: 2^-11 relative for normal numbers, 2^-24 absolute for subnormals (ε = 1e-5 is one).
        return Math.abs(eps - configured) <= 2 ** -24 + 2 ** -11 * configured ? configured : eps;
      }
    }
    return configured;
  }

  patchEmbedding(): WeightTensor {
    const { hiddenSize: d, numChannels: ch, patchSize: p } = this.config;
    const scope = `${VM}/embeddings/patch_embedding`;
    const conv = this.index.requireNode([`${scope}/Conv`], 'patch embedding');
    const w = this.index.constant(conv.inputs[1]);
    if (!w) throw new VisionWeightsError(`patch embedding: Conv "${conv.name}" has no constant weight`);
    if (conv.inputs[2]) throw new VisionWeightsError(`patch embedding: Conv "${conv.name}" has a bias (CLIP has none)`);
    const dims = w.tensor.dims;
    if (dims.join(',') !== [d, ch, p, p].join(',')) {
      throw new VisionWeightsError(
        `patch embedding: Conv weight has shape [${dims.join(',')}], expected [${d},${ch},${p},${p}] from ` +
          'config.json; does config.json belong to this model?',
      );
    }
    return this.read(w, 'patch embedding', [d, ch, p, p]);
  }

  /** Class embedding and the Concat that prepends it. */
  classEmbedding(): { value: WeightTensor; concat: OnnxNode } {
    const d = this.config.hiddenSize;
    for (const node of this.index.scope(`${VM}/embeddings`)) {
      if (node.opType !== 'Concat' || node.inputs.length !== 2) continue;
      const c = this.index.constant(node.inputs[0], RESHAPING);
      if (c && tensorElementCount(c.tensor) === d && !this.index.constant(node.inputs[1], RESHAPING)) {
        return { value: this.read(c, 'class embedding', [d]), concat: node };
      }
    }
    throw new VisionWeightsError(
      `class embedding: no Concat under "${VM}/embeddings/" whose first input is a [${d}] constant ` +
        '(the class embedding expanded to the batch)',
    );
  }

  positionEmbedding(concat: OnnxNode): WeightTensor {
    const { hiddenSize: d, imageSize, patchSize } = this.config;
    const grid = Math.floor(imageSize / patchSize);
    const count = grid * grid + 1;
    const add = (this.index.consumers.get(concat.outputs[0]) ?? []).find((n) => n.opType === 'Add');
    if (!add) throw new VisionWeightsError(`position embedding: no Add after "${concat.name}"`);
    let value = add.inputs.find((i) => i !== concat.outputs[0]);
    // Through reshapes of the gathered table.
    for (let hops = 0; value && hops < 8; hops++) {
      const c = this.index.constant(value, RESHAPING);
      if (c) return this.read(c, 'position embedding', [count, d]);
      const p = this.index.producer.get(value);
      if (!p) break;
      if (p.opType === 'Gather') {
        const table = this.index.constant(p.inputs[0], RESHAPING);
        const indices = this.index.constant(p.inputs[1], RESHAPING);
        if (!table) break;
        const rows = tensorElementCount(table.tensor) / d;
        if (!Number.isInteger(rows)) {
          throw new VisionWeightsError(
            `position embedding: Gather table "${table.tensor.name}" [${table.tensor.dims.join(',')}] is not a ` +
              `whole number of [${d}] rows; does config.json belong to this model?`,
          );
        }
        const full = this.read(table, 'position embedding', [rows, d]);
        if (!indices) {
          if (rows !== count) break;
          return full;
        }
        const idx = tensorToNumbers(indices.tensor);
        if (idx.length !== count) {
          throw new VisionWeightsError(
            `position embedding: Gather "${p.name}" selects ${idx.length} rows, expected ${count} ` +
              `(${grid}×${grid} patches + class) from config.json`,
          );
        }
        return gatherRows(full, idx, d);
      }
      if (!RESHAPING.has(p.opType)) break;
      value = p.inputs[0];
    }
    throw new VisionWeightsError(
      `position embedding: the Add "${add.name}" after the class-token Concat has no constant or Gather input`,
    );
  }

  layerCount(): number {
    let n = 0;
    while (this.index.scope(`${VM}/encoder/layers.${n}`).length > 0) n++;
    return n;
  }
}

function zeros(n: number): WeightTensor {
  return { shape: [n], data: new Float32Array(n) };
}

function scaled(t: WeightTensor, s: number): WeightTensor {
  return { shape: t.shape, data: t.data.map((v) => v * s) };
}

function transpose2d(t: WeightTensor): WeightTensor {
  const [rows, cols] = t.shape;
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) data[c * rows + r] = t.data[base + c];
  }
  const out: WeightTensor = { shape: [cols, rows], data };
  if (t.f16) {
    const bits = new Uint16Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) bits[c * rows + r] = t.f16[r * cols + c];
    out.f16 = bits;
  }
  return out;
}

function gatherRows(t: WeightTensor, idx: number[], d: number): WeightTensor {
  const rows = t.shape[0];
  const data = new Float32Array(idx.length * d);
  const bits = t.f16 ? new Uint16Array(idx.length * d) : undefined;
  idx.forEach((raw, k) => {
    const i = raw < 0 ? raw + rows : raw;
    if (!(i >= 0 && i < rows)) throw new VisionWeightsError(`position embedding: index ${raw} out of range`);
    data.set(t.data.subarray(i * d, (i + 1) * d), k * d);
    bits?.set(t.f16!.subarray(i * d, (i + 1) * d), k * d);
  });
  return bits ? { shape: [idx.length, d], data, f16: bits } : { shape: [idx.length, d], data };
}

/** Extracts the CLIP vision tower's weights from a parsed vision_model(.fp16).onnx. */
export function extractVisionWeights(
  model: OnnxModel,
  config: VisionConfig,
  options: ExtractOptions = {},
): VisionWeights {
  if (quantizationReason(model) !== null) throw new OnnxUnsupportedError(QUANTIZED_MODEL_MESSAGE);
  const ex = new Extractor(model, config, options.keepFloat16 ?? false);
  const { hiddenSize: d, intermediateSize: ff } = config;

  const patchEmbedding = ex.patchEmbedding();
  const layers = ex.layerCount();
  if (layers !== config.numHiddenLayers) {
    throw new VisionWeightsError(
      `the ONNX graph has ${layers} encoder layers but config.json says num_hidden_layers = ` +
        `${config.numHiddenLayers}; does config.json belong to this model?`,
    );
  }
  const cls = ex.classEmbedding();
  const positionEmbedding = ex.positionEmbedding(cls.concat);
  const preLayerNorm = ex.layerNorm([`${VM}/pre_layrnorm`, `${VM}/pre_layernorm`]);
  const layerWeights: VisionLayerWeights[] = [];
  for (let i = 0; i < layers; i++) {
    const s = `${VM}/encoder/layers.${i}`;
    layerWeights.push({
      layerNorm1: ex.layerNorm([`${s}/layer_norm1`]),
      qProj: ex.linear(`${s}/self_attn/q_proj`, d, d, true),
      kProj: ex.linear(`${s}/self_attn/k_proj`, d, d, true),
      vProj: ex.linear(`${s}/self_attn/v_proj`, d, d, true),
      outProj: ex.linear(`${s}/self_attn/out_proj`, d, d, true),
      layerNorm2: ex.layerNorm([`${s}/layer_norm2`]),
      fc1: ex.linear(`${s}/mlp/fc1`, d, ff, true),
      fc2: ex.linear(`${s}/mlp/fc2`, ff, d, true),
    });
  }
  const postLayerNorm = ex.layerNorm([`${VM}/post_layernorm`]);
  const visualProjection = ex.linear('/visual_projection', d, config.projectionDim, false).weight;

  const types = ex.storedTypes;
  const storedAs =
    types.size === 1 && types.has(OnnxDataType.FLOAT16)
      ? 'float16'
      : types.size === 1 && types.has(OnnxDataType.FLOAT)
        ? 'float32'
        : 'mixed';
  return {
    config,
    storedAs,
    patchEmbedding,
    classEmbedding: cls.value,
    positionEmbedding,
    preLayerNorm,
    layers: layerWeights,
    postLayerNorm,
    visualProjection,
  };
}

/**
 * The weights under Hugging Face's CLIPVisionModelWithProjection state_dict names
 * (`vision_model.encoder.layers.0.self_attn.q_proj.weight`, `visual_projection.weight`, …).
 */
export function visionWeightsToStateDict(w: VisionWeights): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  const ln = (prefix: string, l: LayerNormWeights) => {
    out.set(`${prefix}.weight`, l.weight);
    out.set(`${prefix}.bias`, l.bias);
  };
  const lin = (prefix: string, l: LinearWeights) => {
    out.set(`${prefix}.weight`, l.weight);
    out.set(`${prefix}.bias`, l.bias);
  };
  out.set('vision_model.embeddings.class_embedding', w.classEmbedding);
  out.set('vision_model.embeddings.patch_embedding.weight', w.patchEmbedding);
  out.set('vision_model.embeddings.position_embedding.weight', w.positionEmbedding);
  ln('vision_model.pre_layrnorm', w.preLayerNorm);
  w.layers.forEach((l, i) => {
    const p = `vision_model.encoder.layers.${i}`;
    lin(`${p}.self_attn.k_proj`, l.kProj);
    lin(`${p}.self_attn.v_proj`, l.vProj);
    lin(`${p}.self_attn.q_proj`, l.qProj);
    lin(`${p}.self_attn.out_proj`, l.outProj);
    ln(`${p}.layer_norm1`, l.layerNorm1);
    lin(`${p}.mlp.fc1`, l.fc1);
    lin(`${p}.mlp.fc2`, l.fc2);
    ln(`${p}.layer_norm2`, l.layerNorm2);
  });
  ln('vision_model.post_layernorm', w.postLayerNorm);
  out.set('visual_projection.weight', w.visualProjection);
  return out;
}

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bitFlips, byteOverwrites, fuzz, MiB, rejection } from '../../test/fuzz';
import { OnnxDataType, OnnxParseError, OnnxUnsupportedError, parseOnnx, type OnnxModel, type OnnxTensor } from './onnx';
import { extractVisionWeights, visionConfigFromJson, VisionWeightsError } from './visionWeights';

const TINY = fileURLToPath(new URL('../../models/tiny-clip/', import.meta.url));
const load = (path: string) => new Uint8Array(readFileSync(TINY + path));
const configJson = JSON.parse(new TextDecoder().decode(load('config.json'))) as Record<string, unknown>;
const config = visionConfigFromJson(configJson);

const isOwn = (e: unknown) =>
  e instanceof OnnxParseError || e instanceof OnnxUnsupportedError || e instanceof VisionWeightsError;

/** A copy whose graph lists and initializer objects can be changed (raw data still shared). */
function editable(m: OnnxModel): OnnxModel {
  return {
    ...m,
    graph: {
      ...m.graph,
      nodes: m.graph.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs] })),
      initializers: m.graph.initializers.map((t) => ({ ...t, dims: [...t.dims] })),
    },
  };
}

/** Each initializer changed in turn by `change`: extraction must fail with a typed error naming the problem. */
async function expectEachRejected(m: OnnxModel, change: (t: OnnxTensor) => void, pattern: RegExp): Promise<void> {
  const failures: string[] = [];
  for (let i = 0; i < m.graph.initializers.length; i++) {
    const copy = editable(m);
    change(copy.graph.initializers[i]);
    const r = await rejection(() => extractVisionWeights(copy, config));
    const name = m.graph.initializers[i].name;
    if (!isOwn(r.error)) failures.push(`${name}: ${String(r.error)}`);
    else if (!pattern.test((r.error as Error).message)) failures.push(`${name}: ${(r.error as Error).message}`);
    if (r.arrayBufferGrowth > 4 * MiB) failures.push(`${name}: ${r.arrayBufferGrowth} bytes left allocated`);
  }
  expect(failures).toEqual([]);
}

describe('vision weights fuzz', () => {
  const fp32Bytes = load('onnx/vision_model.onnx');
  const fp32 = parseOnnx(fp32Bytes);
  const fp16 = parseOnnx(load('onnx/vision_model_fp16.onnx'));

  it('extracts or rejects bit-flipped files, never with another error', async () => {
    const cases = [
      ...bitFlips(fp32Bytes, 700, 51, { range: [0, 12_000] }),
      ...byteOverwrites(fp32Bytes, 300, 52, [0, 12_000]),
      ...bitFlips(fp32Bytes, 200, 53),
    ];
    const report = await fuzz(cases, (bytes) => extractVisionWeights(parseOnnx(bytes), config), { accept: isOwn });
    expect(report.failures).toEqual([]);
    expect(report.rejected).toBeGreaterThan(100);
    expect(report.totalMs).toBeLessThan(15_000);
  });

  it('names a missing initializer', async () => {
    const failures: string[] = [];
    for (const m of [fp32, fp16]) {
      for (const t of m.graph.initializers) {
        const copy = editable(m);
        copy.graph.initializers = copy.graph.initializers.filter((x) => x.name !== t.name);
        try {
          extractVisionWeights(copy, config);
          failures.push(`${t.name}: extracted without it`);
        } catch (e) {
          if (!(e instanceof VisionWeightsError)) failures.push(`${t.name}: ${String(e)}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('names wrong data types, huge dims and sizes that do not match the raw data', async () => {
    await expectEachRejected(fp32, (t) => (t.dataType = OnnxDataType.INT32), /has type INT32|constant|Gather|no Add/);
    await expectEachRejected(fp32, (t) => (t.dataType = OnnxDataType.STRING), /type STRING|constant|Gather|no Add/);
    await expectEachRejected(fp32, (t) => (t.dataType = 999), /type 999|constant|Gather|no Add/);
    await expectEachRejected(fp16, (t) => (t.dataType = OnnxDataType.INT8), /quantized|constant|Gather/);
    await expectEachRejected(
      fp32,
      (t) => (t.dims = [2 ** 40]),
      /shape \[1099511627776\]|raw_data|constant|Gather|no Add/,
    );
    await expectEachRejected(fp32, (t) => (t.rawData = t.rawData!.subarray(0, 4)), /raw_data|constant|Gather|no Add/);
    const table = editable(fp32);
    table.graph.initializers.find((t) => t.name === 'vision_model.embeddings.position_embedding.weight')!.dims = [
      50 * config.hiddenSize + 1,
    ];
    expect(() => extractVisionWeights(table, config)).toThrow(/is not a whole number of \[32\] rows/);
    // Shape dims that multiply to the right count: the 2-D checks still catch a wrong layout.
    const q = fp32.graph.initializers.find((t) => t.dims.length === 2 && t.dims[0] === t.dims[1])!;
    const copy = editable(fp32);
    copy.graph.initializers.find((t) => t.name === q.name)!.dims = [q.dims[0] / 2, q.dims[1] * 2];
    expect(() => extractVisionWeights(copy, config)).toThrow(VisionWeightsError);
  });

  it('stays fast on a graph with tens of thousands of scoped nodes (no quadratic scope search)', () => {
    const m = editable(fp32);
    for (let i = 0; i < 60_000; i++) {
      m.graph.nodes.push({
        name: `/vision_model/encoder/layers.${i}/filler/Identity`,
        opType: 'Identity',
        domain: '',
        inputs: [`f${i}`],
        outputs: [`g${i}`],
        attributes: [],
      });
    }
    const t0 = performance.now();
    expect(() => extractVisionWeights(m, config)).toThrow(
      /has 60000 encoder layers but config.json says num_hidden_layers = 2/,
    );
    expect(performance.now() - t0).toBeLessThan(3000);
  });

  it('rejects bad config.json values with VisionWeightsError', () => {
    const bad: unknown[] = [
      null,
      42,
      'text',
      { vision_config: 5 },
      { vision_config: { hidden_size: -32 } },
      { vision_config: { hidden_size: '32' } },
      { vision_config: { hidden_size: 32.5 } },
      JSON.parse('{"vision_config": {"hidden_size": 1e400}}'), // Infinity
      { vision_config: { num_attention_heads: 5, hidden_size: 32 } },
      { vision_config: { image_size: 56.5 } },
      { vision_config: { num_channels: 0 } },
      { projection_dim: -16 },
      { projection_dim: 16.5 },
      { projection_dim: '16' },
    ];
    for (const json of bad) {
      expect(() => visionConfigFromJson(json), JSON.stringify(json)).toThrow(VisionWeightsError);
    }
    // Sizes that are valid numbers but do not belong to the model: caught when the weights are read.
    const huge = visionConfigFromJson({
      ...configJson,
      vision_config: { ...(configJson.vision_config as object), hidden_size: 2 ** 40, num_attention_heads: 1 },
    });
    expect(() => extractVisionWeights(fp32, huge)).toThrow(/does config.json belong to this model/);
  });
});

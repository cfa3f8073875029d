import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../nn/safetensors';
import { createTextEncoderFromDirectory, loadModelFromDirectory } from './modelDirectory';
import { TEXT_ROLES } from './modelFiles';
import { GENERIC_TEMPLATES, SCREEN_TEMPLATES, expandPrompts } from './prompts';
import { ClipTextEncoder, ClipTokenizer } from './textEncoder';

const TOKENIZER_DIR = fileURLToPath(new URL('../../../shared/data/tokenizer', import.meta.url));
const TINY_DIR = fileURLToPath(new URL('../../models/tiny-clip', import.meta.url));

const tokenizerJson = JSON.parse(readFileSync(`${TOKENIZER_DIR}/tokenizer.json`, 'utf8'));
const tokenizerConfig = JSON.parse(readFileSync(`${TOKENIZER_DIR}/tokenizer_config.json`, 'utf8'));

// --- A minimal ONNX writer: input_ids int64 [batch, 77] -> Cast(float) -> MatMul W [77, D] -> text_embeds [batch, D].

function varint(value: number): number[] {
  const out: number[] = [];
  let v = BigInt(value);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}
const field = (num: number, wire: number) => varint((num << 3) | wire);
const int = (num: number, value: number) => [...field(num, 0), ...varint(value)];
const bytes = (num: number, payload: ArrayLike<number>) => [
  ...field(num, 2),
  ...varint(payload.length),
  ...Array.from(payload),
];
const str = (num: number, s: string) => bytes(num, new TextEncoder().encode(s));

function valueInfo(name: string, elemType: number, dims: (number | string)[]): number[] {
  const shape = dims.flatMap((d) => bytes(1, typeof d === 'number' ? int(1, d) : str(2, d)));
  return [...str(1, name), ...bytes(2, bytes(1, [...int(1, elemType), ...bytes(2, shape)]))];
}

function linearTextModel(weights: Float32Array, dim: number): Uint8Array {
  const FLOAT = 1;
  const INT64 = 7;
  const cast = [...str(1, 'input_ids'), ...str(2, 'x'), ...str(3, 'cast'), ...str(4, 'Cast')];
  const castNode = [...cast, ...bytes(5, [...str(1, 'to'), ...int(3, FLOAT), ...int(20, 2)])];
  const matmul = [...str(1, 'x'), ...str(1, 'W'), ...str(2, 'text_embeds'), ...str(3, 'matmul'), ...str(4, 'MatMul')];
  const init = [
    ...int(1, 77),
    ...int(1, dim),
    ...int(2, FLOAT),
    ...str(8, 'W'),
    ...bytes(9, new Uint8Array(weights.buffer)),
  ];
  const graph = [
    ...bytes(1, castNode),
    ...bytes(1, matmul),
    ...str(2, 'linear_text'),
    ...bytes(5, init),
    ...bytes(11, valueInfo('input_ids', INT64, ['batch', 77])),
    ...bytes(12, valueInfo('text_embeds', FLOAT, ['batch', dim])),
  ];
  return new Uint8Array([...int(1, 8), ...bytes(8, [...str(1, ''), ...int(2, 17)]), ...bytes(7, graph)]);
}

const DIM = 8;
const W = Float32Array.from({ length: 77 * DIM }, (_, i) => Math.sin(i * 0.37) * 1e-3);

function expectedEmbedding(ids: number[]): number[] {
  const out = new Array<number>(DIM).fill(0);
  for (let t = 0; t < 77; t++) for (let d = 0; d < DIM; d++) out[d] += (ids[t] ?? 49407) * W[t * DIM + d];
  return out;
}

function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

describe('prompts', () => {
  it('has the 14 generic and 2 screen templates and expands prompt-major', () => {
    expect(GENERIC_TEMPLATES).toHaveLength(14);
    expect(SCREEN_TEMPLATES).toHaveLength(2);
    expect(expandPrompts('horse', GENERIC_TEMPLATES).slice(0, 3)).toEqual([
      'photo of horse.',
      'high quality photo of horse.',
      'a photo of horse.',
    ]);
    expect(expandPrompts('horse', GENERIC_TEMPLATES).slice(-4)).toEqual(['horse.', 'horse', 'horse!', 'horse...']);
    expect(expandPrompts(['a', 'b'], SCREEN_TEMPLATES)).toEqual([
      'a over a green screen.',
      'a in front of a green screen.',
      'b over a green screen.',
      'b in front of a green screen.',
    ]);
  });
});

describe('ClipTokenizer', () => {
  const tok = new ClipTokenizer(tokenizerJson, tokenizerConfig);

  it('tokenizes as OpenAI CLIP and pads with EOT to 77', () => {
    expect(tok.encode('a photo of golden horse.')).toEqual([49406, 320, 1125, 539, 3878, 4558, 269, 49407]);
    const ids = Array.from(tok.encodeBatch(['a photo of golden horse.', 'fire']), Number);
    expect(ids).toHaveLength(2 * 77);
    expect(ids.slice(0, 8)).toEqual([49406, 320, 1125, 539, 3878, 4558, 269, 49407]);
    expect(ids.slice(8, 77).every((id) => id === 49407)).toBe(true);
    expect(ids[77]).toBe(49406);
    expect(tok.padId).toBe(49407);
  });

  it('truncates long texts to 77 tokens ending with EOT', () => {
    const ids = tok.encode('word '.repeat(200));
    expect(ids).toHaveLength(77);
    expect(ids[0]).toBe(49406);
    expect(ids[76]).toBe(49407);
    expect(ids[75]).not.toBe(49407);
  });
});

describe('ClipTextEncoder (linear stand-in model)', () => {
  let encoder: ClipTextEncoder | undefined;
  afterAll(() => encoder?.dispose());

  it('runs onnxruntime-web in Node, batches, and caches per text', async () => {
    encoder = await ClipTextEncoder.create({
      tokenizer: tokenizerJson,
      tokenizerConfig,
      textModel: linearTextModel(W, DIM),
      batchSize: 3,
    });
    const texts = ['a photo of golden horse.', 'fire', 'snowy countryside', 'fire', 'x', 'y'];
    const out = await encoder.encode(texts);
    expect(out).toHaveLength(6);
    expect(encoder.dim).toBe(DIM);
    expect(encoder.sessionRuns).toBe(2); // 5 distinct texts in batches of 3
    const tok = encoder.tokenizer;
    texts.forEach((t, i) => expect(relativeError(out[i], expectedEmbedding(tok.encode(t)))).toBeLessThan(1e-5));

    const again = await encoder.encode(['fire', 'a photo of golden horse.']);
    expect(encoder.sessionRuns).toBe(2);
    expect(Array.from(again[0])).toEqual(Array.from(out[1]));
    again[0][0] = 123; // callers get copies
    expect((await encoder.encode(['fire']))[0][0]).toBe(out[1][0]);

    const templated = await encoder.encodeWithTemplates(['horse', 'fire'], SCREEN_TEMPLATES);
    expect(templated).toHaveLength(4);
    expect(relativeError(templated[2], expectedEmbedding(tok.encode('fire over a green screen.')))).toBeLessThan(1e-5);
  });
});

describe('ClipTextEncoder (models/tiny-clip)', () => {
  it('matches the reference text embeddings', async () => {
    const files = await loadModelFromDirectory(TINY_DIR, { include: TEXT_ROLES });
    expect(files.textModel![0]).toBe(0x08);
    const encoder = await createTextEncoderFromDirectory(TINY_DIR);
    try {
      const reference = decodeSafetensors(new Uint8Array(readFileSync(`${TINY_DIR}/reference.safetensors`)));
      const prompts = referencePrompts(reference.metadata, [...reference.tensors.keys()]);
      const embeds = reference.tensors.get('text.text_embeds');
      const refIds = reference.tensors.get('text.input_ids');
      expect(embeds, `reference tensors: ${[...reference.tensors.keys()].join(', ')}`).toBeDefined();
      const [rows, dim] = embeds!.shape;
      expect(rows).toBe(prompts.length);
      // Same tokens up to EOT; the reference pads with 0 (clip.tokenize), we pad with EOT: the output must not care.
      const ours = encoder.tokenizer.encodeBatch(prompts);
      for (let r = 0; r < rows; r++) {
        const len = encoder.tokenizer.encode(prompts[r]).length;
        const row = (a: ArrayLike<number | bigint>) => Array.from({ length: 77 }, (_, i) => Number(a[r * 77 + i]));
        expect(row(ours).slice(0, len)).toEqual(row(refIds!.data).slice(0, len));
        expect(
          row(refIds!.data)
            .slice(len)
            .every((id) => id === 0),
        ).toBe(true);
        expect(
          row(ours)
            .slice(len)
            .every((id) => id === 49407),
        ).toBe(true);
      }
      const out = await encoder.encode(prompts);
      for (let r = 0; r < rows; r++) {
        expect(relativeError(out[r], embeds!.data.subarray(r * dim, (r + 1) * dim))).toBeLessThanOrEqual(1e-4);
      }
      const runs = encoder.sessionRuns;
      await encoder.encode(prompts);
      expect(encoder.sessionRuns).toBe(runs);
    } finally {
      await encoder.dispose();
    }
  });
});

/** The prompts the reference embeddings were made from, as recorded in the file's metadata. */
function referencePrompts(metadata: Record<string, string>, names: string[]): string[] {
  const raw = metadata.prompts ?? metadata.texts;
  if (raw === undefined)
    throw new Error(`reference.safetensors: no prompts in metadata (${Object.keys(metadata)}; ${names})`);
  const parsed: unknown = JSON.parse(raw);
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string')) throw new Error('bad prompts metadata');
  return parsed;
}

/**
 * CLIP's text tower: tokenizer (`@xenova/transformers`) + ONNX text model (`onnxruntime-web`), behind one class so
 * swapping either library touches only this file.
 *
 * Tokens: `<|startoftext|>` (49406) + BPE tokens + `<|endoftext|>` (49407), truncated to 77 with the last token forced
 * to EOT (as OpenAI's `clip.tokenize(truncate=True)` and Hugging Face's tokenizer do), padded to 77 with the
 * tokenizer's pad token (49407 for the HF CLIP tokenizer; OpenAI pads with 0). The padding value does not change the
 * output: the text model pools at the first EOT (argmax of the ids, EOT being the largest id) and attention is
 * causal, so nothing after that position is seen.
 *
 * Output: the raw (unnormalized) `text_embeds`, one Float32Array per text, cached per text.
 */

// Deep import: the package entry pulls models/processors (3× the code). Typed through the package's declarations.
// @ts-expect-error -- no declaration file at this path; `CLIPTokenizerClass` below restores the types.
import { CLIPTokenizer as CLIPTokenizerImpl } from '@xenova/transformers/src/tokenizers.js';
import type { CLIPTokenizer } from '@xenova/transformers';
import * as ort from 'onnxruntime-web';
import type { ClipModelFiles, JsonObject } from './modelManager';
import { expandPrompts } from './prompts';

const CLIPTokenizerClass = CLIPTokenizerImpl as typeof CLIPTokenizer;

export const CLIP_CONTEXT_LENGTH = 77;
const SOT_TOKEN = '<|startoftext|>';
const EOT_TOKEN = '<|endoftext|>';

export interface ClipTextEncoderOptions {
  /** Parsed `tokenizer.json`. */
  tokenizer: JsonObject;
  /** Parsed `tokenizer_config.json`. */
  tokenizerConfig: JsonObject;
  /** `onnx/text_model.onnx` bytes (input `input_ids` int64 [batch, 77], output `text_embeds` [batch, D]). */
  textModel: Uint8Array;
  /** Default 77. */
  contextLength?: number;
  /** Texts per session run; default 16. */
  batchSize?: number;
  /** Default `['wasm']`. */
  executionProviders?: ort.InferenceSession.SessionOptions['executionProviders'];
  /**
   * onnxruntime-web WASM threads (a process-wide setting, applied before the first session). Default: 1 in Node,
   * onnxruntime's own default in the browser (threads only when cross-origin isolated).
   */
  numThreads?: number;
}

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/** Tokenizer + padding/truncation; exposed for tests and for code that needs the ids (e.g. relevancy maps). */
export class ClipTokenizer {
  readonly sotId: number;
  readonly eotId: number;
  readonly padId: number;

  private readonly tokenizer: CLIPTokenizer;

  constructor(
    tokenizerJson: JsonObject,
    tokenizerConfig: JsonObject,
    readonly contextLength: number = CLIP_CONTEXT_LENGTH,
  ) {
    this.tokenizer = new CLIPTokenizerClass(tokenizerJson, tokenizerConfig);
    const ids = this.tokenizer.model.tokens_to_ids;
    const sot = ids.get(SOT_TOKEN);
    const eot = ids.get(EOT_TOKEN);
    if (sot === undefined || eot === undefined) {
      throw new Error(`tokenizer.json has no ${SOT_TOKEN} / ${EOT_TOKEN} tokens: not a CLIP tokenizer`);
    }
    this.sotId = sot;
    this.eotId = eot;
    this.padId = typeof this.tokenizer.pad_token_id === 'number' ? this.tokenizer.pad_token_id : eot;
  }

  /** Token ids with SOT/EOT, truncated (last = EOT) but not padded. */
  encode(text: string): number[] {
    let ids = this.tokenizer.encode(text);
    if (ids[0] !== this.sotId || ids[ids.length - 1] !== this.eotId) {
      throw new Error(`The tokenizer did not add ${SOT_TOKEN}/${EOT_TOKEN} (no post-processor in tokenizer.json?)`);
    }
    if (ids.length > this.contextLength) ids = [...ids.slice(0, this.contextLength - 1), this.eotId];
    return ids;
  }

  /** `[texts.length, contextLength]` int64 ids, padded with `padId`. */
  encodeBatch(texts: readonly string[]): BigInt64Array {
    const n = this.contextLength;
    const out = new BigInt64Array(texts.length * n).fill(BigInt(this.padId));
    texts.forEach((text, row) => {
      this.encode(text).forEach((id, i) => (out[row * n + i] = BigInt(id)));
    });
    return out;
  }
}

export class ClipTextEncoder {
  /** Embedding width (512 for ViT-B/32), known after the first run; 0 before. */
  dim = 0;

  private readonly cache = new Map<string, Float32Array>();
  private readonly pending = new Map<string, Promise<Float32Array>>();
  private queue: Promise<unknown> = Promise.resolve();
  private runs = 0;
  private readonly outputName: string;
  private readonly maskInput: string | null;

  private constructor(
    readonly tokenizer: ClipTokenizer,
    private readonly session: ort.InferenceSession,
    private readonly batchSize: number,
  ) {
    if (!session.inputNames.includes('input_ids')) {
      throw new Error(`The text model has no input_ids input (inputs: ${session.inputNames.join(', ')})`);
    }
    if (!session.outputNames.includes('text_embeds')) {
      throw new Error(
        `The text model has no text_embeds output (outputs: ${session.outputNames.join(', ')}); ` +
          'export CLIPTextModelWithProjection.',
      );
    }
    this.outputName = 'text_embeds';
    this.maskInput = session.inputNames.includes('attention_mask') ? 'attention_mask' : null;
  }

  static async create(options: ClipTextEncoderOptions): Promise<ClipTextEncoder> {
    const tokenizer = new ClipTokenizer(options.tokenizer, options.tokenizerConfig, options.contextLength);
    const threads = options.numThreads ?? (isNode() ? 1 : undefined);
    if (threads !== undefined) ort.env.wasm.numThreads = threads;
    const session = await ort.InferenceSession.create(options.textModel, {
      executionProviders: options.executionProviders ?? ['wasm'],
      graphOptimizationLevel: 'all',
    });
    return new ClipTextEncoder(tokenizer, session, Math.max(1, options.batchSize ?? 16));
  }

  /** From a model-manager (or directory) load that included `tokenizer`, `tokenizerConfig` and `textModel`. */
  static fromModelFiles(
    files: ClipModelFiles,
    options: Omit<ClipTextEncoderOptions, 'tokenizer' | 'tokenizerConfig' | 'textModel'> = {},
  ): Promise<ClipTextEncoder> {
    const { tokenizer, tokenizerConfig, textModel } = files;
    if (!tokenizer || !tokenizerConfig || !textModel) {
      throw new Error(`ClipTextEncoder needs tokenizer.json, tokenizer_config.json and onnx/text_model.onnx`);
    }
    return ClipTextEncoder.create({ ...options, tokenizer, tokenizerConfig, textModel });
  }

  /** Session runs so far (a cached text costs none). */
  get sessionRuns(): number {
    return this.runs;
  }

  /** Raw `text_embeds` per text, in order. Each text is computed once per encoder; results are fresh copies. */
  async encode(texts: readonly string[]): Promise<Float32Array[]> {
    const missing = [...new Set(texts)].filter((t) => !this.cache.has(t) && !this.pending.has(t));
    for (let i = 0; i < missing.length; i += this.batchSize) {
      const batch = missing.slice(i, i + this.batchSize);
      const done = this.enqueue(() => this.run(batch));
      batch.forEach((text, row) => {
        const one = done.then((rows) => {
          this.cache.set(text, rows[row]);
          return rows[row];
        });
        one.catch(() => undefined).finally(() => this.pending.delete(text));
        this.pending.set(text, one);
      });
    }
    const rows = await Promise.all(texts.map((t) => this.cache.get(t) ?? this.pending.get(t)!));
    return rows.map((r) => r.slice());
  }

  /** `encode(expandPrompts(prompts, templates))`: prompt-major rows as in spec §A.6.4. */
  encodeWithTemplates(prompts: string | readonly string[], templates: readonly string[]): Promise<Float32Array[]> {
    return this.encode(expandPrompts(prompts, templates));
  }

  async dispose(): Promise<void> {
    this.cache.clear();
    await this.queue.catch(() => undefined);
    await this.session.release();
  }

  /** Session runs one at a time (onnxruntime-web rejects concurrent runs of one session). */
  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const next = this.queue.then(job, job);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async run(texts: readonly string[]): Promise<Float32Array[]> {
    const n = this.tokenizer.contextLength;
    const ids = this.tokenizer.encodeBatch(texts);
    const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', ids, [texts.length, n]) };
    if (this.maskInput) {
      // 1 up to and including the first EOT, 0 on the padding.
      const mask = new BigInt64Array(ids.length);
      const eot = BigInt(this.tokenizer.eotId);
      for (let r = 0; r < texts.length; r++) {
        for (let i = 0; i < n; i++) {
          mask[r * n + i] = 1n;
          if (ids[r * n + i] === eot) break;
        }
      }
      feeds[this.maskInput] = new ort.Tensor('int64', mask, [texts.length, n]);
    }
    this.runs++;
    const results = await this.session.run(feeds, [this.outputName]);
    const out = results[this.outputName];
    try {
      if (out.type !== 'float32' || out.dims.length !== 2 || out.dims[0] !== texts.length) {
        throw new Error(`Unexpected text_embeds: ${out.type} [${out.dims.join(', ')}] for ${texts.length} texts`);
      }
      const dim = out.dims[1];
      this.dim = dim;
      const data = out.data as Float32Array;
      return texts.map((_, r) => data.slice(r * dim, (r + 1) * dim));
    } finally {
      out.dispose();
    }
  }
}

/**
 * Node only: loads a CLIP model folder (transformers.js layout, see `modelFiles.ts`) from disk, with the same checks
 * and the same result shape as the browser's `ModelManager`. Kept out of `modelManager.ts` so the browser bundle
 * never sees `node:fs`.
 */

import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ALL_ROLES, DEFAULT_MODEL_ID, TEXT_ROLES, modelFileList } from './modelFiles';
import {
  ModelLoadError,
  assignModelFile,
  decodeModelFile,
  type ClipModelFiles,
  type LoadModelOptions,
} from './modelManager';
import { ClipTextEncoder, type ClipTextEncoderOptions } from './textEncoder';

export interface LoadDirectoryOptions extends Omit<LoadModelOptions, 'modelId'> {
  /** Reported in the result; default: the default model id. */
  modelId?: string;
}

export async function loadModelFromDirectory(dir: string, options: LoadDirectoryOptions = {}): Promise<ClipModelFiles> {
  const precision = options.precision ?? 'fp32';
  const result: ClipModelFiles = { modelId: options.modelId ?? DEFAULT_MODEL_ID, precision, sources: {} };
  for (const spec of modelFileList(precision, options.include ?? ALL_ROLES)) {
    const path = join(dir, ...spec.path.split('/'));
    if (options.signal?.aborted) {
      throw new ModelLoadError('cancelled', spec.path, `Loading ${spec.path} was cancelled (${path}).`, { url: path });
    }
    let bytes: Uint8Array;
    try {
      const size = (await stat(path)).size;
      options.onProgress?.({ file: spec.path, loaded: 0, total: size, source: 'directory', url: path });
      const buffer = await readFile(path, { signal: options.signal });
      bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const kind =
        code === 'ENOENT' || code === 'ENOTDIR' ? 'not-found' : options.signal?.aborted ? 'cancelled' : 'http';
      const what = kind === 'not-found' ? 'not found' : kind === 'cancelled' ? 'cancelled' : 'unreadable';
      throw new ModelLoadError(
        kind,
        spec.path,
        `${spec.path}: ${what} at ${path}${kind === 'http' ? ` (${(error as Error).message})` : ''}.`,
        {
          url: path,
          cause: error,
          attempts: [{ source: 'directory', location: path, kind, message: String((error as Error).message) }],
        },
      );
    }
    options.onProgress?.({
      file: spec.path,
      loaded: bytes.byteLength,
      total: bytes.byteLength,
      source: 'directory',
      url: path,
    });
    assignModelFile(result, spec.role, decodeModelFile(spec, bytes, path));
    result.sources[spec.role] = 'directory';
  }
  return result;
}

/** Node: the text encoder of a model folder (reads only the tokenizer files and `onnx/text_model.onnx`). */
export async function createTextEncoderFromDirectory(
  dir: string,
  options: Omit<ClipTextEncoderOptions, 'tokenizer' | 'tokenizerConfig' | 'textModel'> = {},
): Promise<ClipTextEncoder> {
  return ClipTextEncoder.fromModelFiles(await loadModelFromDirectory(dir, { include: TEXT_ROLES }), options);
}

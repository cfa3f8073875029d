/**
 * The CLIP model's files in the transformers.js ("Xenova") layout, and where each source serves them.
 * Pure data and string helpers: no fetch, no Node APIs (the browser bundle and Node both import this).
 *
 * Layout of a model folder (on the Hub, under a self-hosted `/models/<id>/`, or picked by the user):
 * ```
 * config.json  tokenizer.json  tokenizer_config.json
 * onnx/vision_model.onnx | onnx/vision_model_fp16.onnx
 * onnx/text_model.onnx
 * ```
 */

export const DEFAULT_MODEL_ID = 'Xenova/clip-vit-base-patch32';
export const DEFAULT_SELF_HOSTED_BASE = '/models/';
export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';
export const DEFAULT_HUB_REVISION = 'main';

/** Storage precision of the vision tower's ONNX file (the text tower is always the fp32 file). */
export type Precision = 'fp32' | 'fp16';

/** What a file is for. */
export type ModelFileRole = 'config' | 'tokenizer' | 'tokenizerConfig' | 'visionModel' | 'textModel';

/** How a file's content is checked and returned: JSON is parsed, ONNX stays bytes. */
export type ModelFileFormat = 'json' | 'onnx';

export interface ModelFileSpec {
  role: ModelFileRole;
  /** Path inside the model folder, `/`-separated. */
  path: string;
  format: ModelFileFormat;
  /**
   * Rough size of the default model's (`Xenova/clip-vit-base-patch32`) copy, in bytes, derived from its parameter
   * counts (vision ≈ 87.8 M, text ≈ 63.2 M parameters), for "about N MB" in the UI before a download starts. Never
   * used for checks: the real size comes from Content-Length.
   */
  approxBytes: number;
}

export const ALL_ROLES: readonly ModelFileRole[] = [
  'config',
  'tokenizer',
  'tokenizerConfig',
  'visionModel',
  'textModel',
];
/** The files the text tower needs (tokenizer + text model). */
export const TEXT_ROLES: readonly ModelFileRole[] = ['tokenizer', 'tokenizerConfig', 'textModel'];
/** The files the vision tower needs. */
export const VISION_ROLES: readonly ModelFileRole[] = ['config', 'visionModel'];

export function visionModelPath(precision: Precision): string {
  return precision === 'fp16' ? 'onnx/vision_model_fp16.onnx' : 'onnx/vision_model.onnx';
}

/** The manifest: every file of a model in the given precision, in download order (small JSON first). */
export function modelFileList(
  precision: Precision = 'fp32',
  roles: readonly ModelFileRole[] = ALL_ROLES,
): ModelFileSpec[] {
  const all: ModelFileSpec[] = [
    { role: 'config', path: 'config.json', format: 'json', approxBytes: 4_500 },
    { role: 'tokenizer', path: 'tokenizer.json', format: 'json', approxBytes: 2_224_000 },
    { role: 'tokenizerConfig', path: 'tokenizer_config.json', format: 'json', approxBytes: 800 },
    {
      role: 'visionModel',
      path: visionModelPath(precision),
      format: 'onnx',
      approxBytes: precision === 'fp16' ? 176_000_000 : 352_000_000,
    },
    { role: 'textModel', path: 'onnx/text_model.onnx', format: 'onnx', approxBytes: 254_000_000 },
  ];
  const wanted = new Set(roles);
  return all.filter((f) => wanted.has(f.role));
}

/** Checks a model id (`owner/name` or a single folder name) so it cannot climb out of a base URL or folder. */
export function checkModelId(modelId: string): void {
  const segments = modelId.split('/');
  if (
    modelId.length === 0 ||
    segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('\\') || /[?#%]/.test(s))
  ) {
    throw new Error(`Invalid model id ${JSON.stringify(modelId)}: expected "owner/name" or "name".`);
  }
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** `<base>/<id>/<file>`; `base` may be relative (`/models/`) or absolute, with or without a trailing slash. */
export function selfHostedUrl(baseUrl: string, modelId: string, path: string): string {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return `${base}${encodePath(modelId)}/${encodePath(path)}`;
}

/** `https://huggingface.co/<id>/resolve/<revision>/<file>`. */
export function hubUrl(
  modelId: string,
  path: string,
  endpoint: string = DEFAULT_HUB_ENDPOINT,
  revision: string = DEFAULT_HUB_REVISION,
): string {
  const base = endpoint.endsWith('/') ? endpoint.slice(0, -1) : endpoint;
  return `${base}/${encodePath(modelId)}/resolve/${encodeURIComponent(revision)}/${encodePath(path)}`;
}

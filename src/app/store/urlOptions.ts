/** Flags from the page URL: `?dev=1` (the Tiny test quality), `?debug=1` (test hooks), `?model=`, `?modelBase=`. */
import { DEFAULT_MODEL_ID, DEFAULT_SELF_HOSTED_BASE, type Precision } from '../../clip/modelFiles';
import type { GpuFailureSimulation } from '../../worker/protocol';

export interface UrlOptions {
  dev: boolean;
  debug: boolean;
  modelId: string;
  modelBase: string;
  precision: Precision;
  /** Test hook (`?debug=1&gpu=no-api|no-adapter|no-device`): the worker's device fails to open this way. */
  simulateGpu: GpuFailureSimulation | null;
}

const GPU_FAILURES: readonly GpuFailureSimulation[] = ['no-api', 'no-adapter', 'no-device'];

export function readUrlOptions(search: string = typeof location === 'undefined' ? '' : location.search): UrlOptions {
  const q = new URLSearchParams(search);
  const on = (k: string) => q.get(k) === '1' || q.get(k) === 'true';
  const base = q.get('modelBase');
  const model = q.get('model');
  const gpu = q.get('gpu') as GpuFailureSimulation | null;
  const debug = on('debug');
  return {
    dev: on('dev'),
    debug,
    modelId: model && /^[\w.-]+(\/[\w.-]+)?$/.test(model) ? model : DEFAULT_MODEL_ID,
    // Only paths on this site: the CSP allows no other origin but the Hub anyway.
    modelBase: base && base.startsWith('/') && !base.startsWith('//') ? base : DEFAULT_SELF_HOSTED_BASE,
    precision: q.get('precision') === 'fp16' ? 'fp16' : 'fp32',
    simulateGpu: debug && gpu && GPU_FAILURES.includes(gpu) ? gpu : null,
  };
}

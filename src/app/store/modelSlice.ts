/** The model slice: which CLIP model, its download progress and cache state, and the files picked from disk. */
import { cachedModelStatus } from '../../clip/modelCacheStatus';
import { requestPersistentStorage } from '../../clip/storageBudget';
import type { ModelSlice, Slice, SliceContext } from './types';

export function createModelSlice({ set, get, client, url }: SliceContext): Slice<ModelSlice> {
  let persistAsked = false;
  const state: ModelSlice = {
    model: {
      id: url.modelId,
      baseUrl: url.modelBase,
      precision: url.precision,
      state: 'unknown',
      picked: null,
      loaded: 0,
      total: 0,
      percent: 0,
      file: null,
      source: null,
      fromCache: false,
      error: null,
      vision: null,
    },

    modelSpec() {
      const m = get().model;
      return { modelId: m.id, baseUrl: m.baseUrl, precision: m.precision, pickedFiles: m.picked ?? undefined };
    },

    setPrecision(p) {
      set((s) => ({
        model: { ...s.model, precision: p, state: s.model.state === 'ready' ? 'unknown' : s.model.state },
      }));
      void get().checkModelCache();
    },

    setPickedModelFiles(files) {
      set((s) => ({
        model: {
          ...s.model,
          picked: files && files.length > 0 ? files : null,
          error: null,
          state: s.model.state === 'ready' || s.model.state === 'error' ? 'unknown' : s.model.state,
        },
      }));
    },

    async checkModelCache() {
      const m = get().model;
      if (m.state === 'loading' || m.state === 'ready') return;
      let status;
      try {
        status = await cachedModelStatus({ modelId: m.id, baseUrl: m.baseUrl, precision: m.precision });
      } catch {
        return; // the cache could not be read: the state stays unknown
      }
      if (status.state === 'unavailable') return; // no Cache Storage here (private mode)
      const state = status.state;
      set((s) => (s.model.state === 'loading' || s.model.state === 'ready' ? {} : { model: { ...s.model, state } }));
    },

    async persistStorage() {
      // Asked once, from the page (workers cannot): the browser then keeps the ~600 MB model under storage pressure.
      if (persistAsked) return;
      persistAsked = true;
      const result = await requestPersistentStorage();
      if (result === 'denied') {
        get().addNotice(
          'info',
          'The browser may clear the downloaded model when space runs low (it did not grant persistent storage).',
        );
      }
    },

    loadModel() {
      if (get().model.state === 'ready') return;
      void get().persistStorage();
      set((s) => ({
        model: { ...s.model, state: 'loading', loaded: 0, total: 0, percent: 0, file: null, error: null },
        error: s.error?.kind === 'model' ? null : s.error,
      }));
      client().send({ type: 'loadModel', model: get().modelSpec() });
    },

    cancelModelDownload() {
      client().send({ type: 'cancelModel' });
    },

    clearModelCache() {
      const m = get().model;
      client().send({ type: 'clearModelCache', modelId: m.id, baseUrl: m.baseUrl });
    },
  };

  return {
    state,
    onEvent(ev) {
      switch (ev.type) {
        case 'modelProgress':
          set((s) => ({
            model: {
              ...s.model,
              state: 'loading',
              error: null,
              loaded: ev.loaded,
              total: ev.total,
              percent: ev.percent,
              file: ev.file,
              source: ev.source,
            },
          }));
          return;
        case 'modelReady':
          set((s) => ({
            model: { ...s.model, state: 'ready', fromCache: ev.cached, percent: 100, error: null, vision: ev.vision },
          }));
          return;
        case 'modelCancelled':
          set((s) => ({ model: { ...s.model, state: s.model.loaded > 0 ? 'partial' : 'not-cached' } }));
          get().addNotice('info', 'The model download was cancelled; the next Start continues where it stopped.');
          return;
        case 'modelCacheCleared':
          set((s) => ({ model: { ...s.model, state: s.model.state === 'ready' ? 'ready' : 'not-cached' } }));
          get().addNotice('info', 'The cached model files were removed from this browser.');
          return;
        case 'error':
          if (ev.kind !== 'model') return;
          set((s) => ({
            model: {
              ...s.model,
              state: 'error',
              error: { kind: ev.kind, message: ev.message, hint: ev.hint, recoverable: ev.recoverable },
            },
          }));
          return;
        default:
          return;
      }
    },
  };
}

/** The view slice: what the page shows around the edit (the GPU's facts, the result view, errors and notices). */
import type { AppError, Slice, SliceContext, ViewSlice } from './types';

/** How many notices stay on screen (the oldest go first). */
const MAX_NOTICES = 4;

export function createViewSlice({ set, url, client }: SliceContext): Slice<ViewSlice> {
  const state: ViewSlice = {
    url,
    connect() {
      client();
    },
    gpu: null,
    view: 'composite',
    error: null,
    notices: [],
    nextNoticeId: 1,
    fullSizeDownloads: null,

    setView(view) {
      set({ view });
    },

    setFullSizeDownloads(on) {
      set({ fullSizeDownloads: on });
    },

    addNotice(tone, text) {
      set((s) => ({
        notices: [...s.notices.slice(-(MAX_NOTICES - 1)), { id: s.nextNoticeId, tone, text }],
        nextNoticeId: s.nextNoticeId + 1,
      }));
    },

    dismissNotice(id) {
      set((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
    },

    dismissError() {
      set({ error: null });
    },
  };

  return {
    state,
    onEvent(ev) {
      if (ev.type === 'gpu') {
        set({ gpu: ev.availability });
      } else if (ev.type === 'error' && ev.kind !== 'model' && !(ev.kind === 'video' && ev.command === 'importClip')) {
        const error: AppError = { kind: ev.kind, message: ev.message, hint: ev.hint, recoverable: ev.recoverable };
        set({ error });
      } else if (ev.type === 'state' && (ev.state === 'training' || ev.state === 'preparing')) {
        // A new attempt: the last error no longer applies (an out-of-memory message stays while its edit comes back).
        set((s) => (s.error && s.error.kind !== 'out-of-memory' ? { error: null } : {}));
      }
    },
  };
}

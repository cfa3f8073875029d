/**
 * The video slice (part 1): the clip the user dropped and how it is trimmed, its import progress and errors, the
 * decomposition's settings, progress and views. The clip itself lives in the worker; the page keeps its facts, a
 * frame strip and the latest views (bitmaps, closed when replaced).
 */
import type { ClipInfo, ClipInput, EditEvent } from '../../worker/protocol';
import type { Slice, SliceContext, VideoSlice } from './types';

/** The defaults a person starts from: every frame up to the reference's 70, the reference's 768 px long side. */
export const DEFAULT_TRIM = { start: 0, frameCount: null, stride: 1, maxSide: 768 };

function closeAll(bitmaps: ReadonlyArray<ImageBitmap | null | undefined>): void {
  for (const b of bitmaps) b?.close();
}

export function createVideoSlice({ set, get, client }: SliceContext): Slice<VideoSlice> {
  const state: VideoSlice = {
    mode: 'photo',
    clip: null,
    clipInput: null,
    clipProgress: null,
    clipError: null,
    trim: { ...DEFAULT_TRIM },
    decomposeSettings: { iterations: 3000, backgroundOnly: false },
    atlas: null,
    atlasPreview: null,
    atlasView: 'reconstruction',
    atlasLayers: null,
    frame: 0,

    setMode(mode) {
      set({ mode });
    },

    importClip(input?: ClipInput) {
      const s = get();
      const chosen = input ?? s.clipInput;
      if (!chosen) return;
      const t = s.trim;
      set({ clipInput: chosen, clipError: null, clipProgress: { done: 0, total: 0 } });
      client().send({
        type: 'importClip',
        input: chosen,
        options: {
          start: t.start,
          frameCount: t.frameCount ?? undefined,
          stride: t.stride,
          maxSide: t.maxSide,
        },
      });
    },

    setTrim(key, value) {
      set((s) => ({ trim: { ...s.trim, [key]: value } }));
    },

    applySuggestedTrim(trim) {
      set((s) => ({ trim: { ...s.trim, start: trim.start, frameCount: trim.frameCount, stride: trim.stride } }));
      get().importClip();
    },

    setDecomposeSetting(key, value) {
      set((s) => ({ decomposeSettings: { ...s.decomposeSettings, [key]: value } }));
    },

    decompose() {
      const s = get();
      if (!s.clip) return;
      set((st) => ({ error: null, atlas: null, run: { ...st.run, requested: 'start' } }));
      // A new decomposition: an edit of the old one no longer applies.
      get().clearVideoEdit();
      client().send({
        type: 'decompose',
        iterations: s.decomposeSettings.iterations,
        backgroundOnly: s.decomposeSettings.backgroundOnly,
      });
    },

    showFrame(frame) {
      set({ frame });
      client().send({ type: 'showFrame', frame });
    },

    setAtlasView(view) {
      set({ atlasView: view });
    },

    downloadAtlas() {
      client().send({ type: 'export', kind: 'atlas' });
    },

    async openAtlas(file) {
      const bytes = new Uint8Array(await file.arrayBuffer());
      if (bytes.byteLength === 0) {
        set({ error: { kind: 'video', message: `“${file.name}” is empty.`, recoverable: true } });
        return;
      }
      client().send({ type: 'openAtlas', bytes });
    },
  };

  return {
    state,
    onEvent(ev: EditEvent) {
      switch (ev.type) {
        case 'clipProgress':
          set({ clipProgress: { done: ev.done, total: ev.total } });
          return;
        case 'clipImported': {
          const old = get().clip;
          const preview = get().atlasPreview;
          set({
            clip: { info: ev.clip as ClipInfo, strip: ev.strip, stripFrames: ev.stripFrames },
            clipProgress: null,
            clipError: null,
            atlas: null,
            atlasPreview: null,
            frame: 0,
            atlasView: 'reconstruction',
          });
          if (old) closeAll(old.strip);
          if (preview) closeAll(Object.values(preview.images));
          return;
        }
        case 'atlasLayers':
          set({ atlasLayers: { mode: ev.mode, reason: ev.reason } });
          get().addNotice('info', ev.reason);
          return;
        case 'atlasOpened':
          get().addNotice('success', `The decomposition was opened at iteration ${ev.iteration}.`);
          return;
        case 'clipCancelled':
          set({ clipProgress: null });
          get().addNotice('info', 'The import was stopped; the clip from before is kept.');
          return;
        case 'atlasProgress':
          set({
            atlas: {
              iteration: ev.iteration,
              iterations: ev.iterations,
              psnr: ev.psnr,
              etaSeconds: ev.etaSeconds,
              secondsPerIteration: ev.secondsPerIteration,
              elapsedSeconds: ev.elapsedSeconds,
            },
          });
          return;
        case 'atlasPreview': {
          const old = get().atlasPreview;
          set({ atlasPreview: { iteration: ev.iteration, frame: ev.frame, images: ev.images } });
          if (old) queueMicrotask(() => closeAll(Object.values(old.images)));
          return;
        }
        case 'error':
          if (ev.kind !== 'video') return;
          set({
            clipProgress: null,
            clipError: {
              message: ev.message,
              importKind: ev.importKind,
              suggestedTrims: ev.suggestedTrims,
              sourceFrameCount: ev.sourceFrameCount,
            },
          });
          return;
        default:
          return;
      }
    },
  };
}

/** The input slice: the photo and everything the user sets about the edit (prompts, preset, quality, seed, advanced). */
import type { EditConfig } from '../../edit/config';
import { getPreset } from '../../edit/presets';
import { resolveConfig } from '../../edit/qualityLevels';
import { decodeImageFile, ImageInputError, pixelsToBitmap } from '../imageInput';
import type { AppState, InputSlice, Slice, SliceContext } from './types';

/** The settings a run takes from the form (prompts, seed, bootstrap) on top of the advanced settings. */
export function formSettings(s: Pick<AppState, 'prompts' | 'seed' | 'advanced'>): Partial<EditConfig> {
  const edit = s.prompts.edit.trim();
  const full = s.prompts.full.trim() || edit;
  const input = s.prompts.input.trim() || 'photo';
  const roi = s.prompts.roi.trim();
  const settings: Partial<EditConfig> = {
    ...s.advanced,
    screenText: edit,
    compText: full,
    srcText: input,
    bootstrapText: roi || null,
    seed: s.seed,
  };
  if (roi && s.advanced.bootstrapEpoch === undefined) settings.bootstrapEpoch = 1000; // whole run, rescaled
  if (!roi) settings.bootstrapEpoch = s.advanced.bootstrapEpoch ?? -1;
  return settings;
}

const first = (v: unknown) => (Array.isArray(v) ? String(v[0] ?? '') : v == null ? '' : String(v));

export function createInputSlice({ set, get, url }: SliceContext): Slice<InputSlice> {
  const state: InputSlice = {
    input: null,
    inputError: null,
    prompts: { edit: '', full: '', input: '', roi: '' },
    presetId: '',
    quality: url.dev ? 'tiny' : 'preview',
    seed: -1,
    advanced: {},

    async setInputFile(file) {
      try {
        const img = await decodeImageFile(file);
        const old = get().input;
        set({ input: img, inputError: null, view: get().preview ? get().view : 'input' });
        if (old && old.bitmap !== img.bitmap) old.bitmap.close();
      } catch (e) {
        const text = e instanceof ImageInputError ? e.message : `The photo could not be read: ${String(e)}`;
        set({ inputError: text });
      }
    },

    setPrompt(key, value) {
      set((s) => ({ prompts: { ...s.prompts, [key]: value } }));
    },

    applyPreset(id) {
      if (!id) {
        set({ presetId: '' });
        return;
      }
      const p = getPreset(id).settings;
      set({
        presetId: id,
        prompts: {
          edit: first(p.screenText),
          full: first(p.compText) === first(p.screenText) ? '' : first(p.compText),
          input: first(p.srcText),
          roi: first(p.bootstrapText),
        },
      });
    },

    setQuality(q) {
      set({ quality: q });
    },

    setSeed(seed) {
      set({ seed });
    },

    setAdvanced(key, value) {
      set((s) => {
        const next = { ...s.advanced };
        if (value === undefined) delete next[key];
        else next[key] = value;
        return { advanced: next };
      });
    },

    resetAdvanced() {
      set({ advanced: {} });
    },

    resolvedConfig(quality) {
      const s = get();
      return resolveConfig(quality ?? s.quality, formSettings(s));
    },
  };

  return {
    state,
    onEvent(ev) {
      // A video session's settings are the video edit form's.
      if (ev.type !== 'sessionOpened' || ev.video) return;
      // The opened edit's settings become the form's.
      const cfg = ev.config;
      set({
        prompts: {
          edit: first(cfg.screenText),
          full: first(cfg.compText) === first(cfg.screenText) ? '' : first(cfg.compText),
          input: first(cfg.srcText),
          roi: cfg.bootstrapText ?? '',
        },
        quality: ev.quality === 'tiny' && !get().url.dev ? 'preview' : ev.quality,
        seed: cfg.seed,
      });
      if (!ev.image) return;
      const img = ev.image;
      void pixelsToBitmap(img).then((bitmap) => {
        const old = get().input;
        set({
          input: {
            bitmap,
            width: img.width,
            height: img.height,
            originalWidth: img.width,
            originalHeight: img.height,
            name: 'photo from the session',
            downscaled: false,
          },
          inputError: null,
        });
        old?.bitmap.close();
      });
    },
  };
}

/**
 * The page's store (zustand): the input, model, run, view, video and video edit slices put together, and the worker's events routed
 * to each slice. The worker client is made on first use and lives with the store (no module-level state), so a test
 * can make a store of its own around a fake client.
 */
import { create } from 'zustand';
import { EditClient, type EditClientLike } from '../editClient';
import { createInputSlice } from './inputSlice';
import { createModelSlice } from './modelSlice';
import { createRunSlice } from './runSlice';
import type { AppState, SliceContext } from './types';
import { readUrlOptions, type UrlOptions } from './urlOptions';
import { createVideoEditSlice } from './videoEditSlice';
import { createVideoSlice } from './videoSlice';
import { createViewSlice } from './viewSlice';

export { runBusy } from './runSlice';
export { hasForeground, presetsForClip, shownDefaultLayer, videoEstimate, videoStartBlocker } from './videoEditSlice';
export type * from './types';
export { readUrlOptions, type UrlOptions } from './urlOptions';

export function createAppStore(makeClient: () => EditClientLike, url: UrlOptions = readUrlOptions()) {
  let client: EditClientLike | null = null;
  return create<AppState>()((set, get) => {
    const ctx: SliceContext = {
      set,
      get,
      url,
      client: () => {
        if (!client) {
          client = makeClient();
          client.subscribe((ev) => {
            for (const s of slices) s.onEvent(ev);
          });
          // The first command: the worker opens its device and tells the GPU panel what it found.
          client.send({ type: 'probe', debug: url.debug, simulateGpu: url.simulateGpu ?? undefined });
        }
        return client;
      },
    };
    // Events reach the slices in this order.
    const slices = [
      createViewSlice(ctx),
      createInputSlice(ctx),
      createModelSlice(ctx),
      createRunSlice(ctx),
      createVideoSlice(ctx),
      createVideoEditSlice(ctx),
    ];
    return Object.assign({}, ...slices.map((s) => s.state)) as AppState;
  });
}

/** The app's store. */
export const useApp = createAppStore(() => new EditClient());

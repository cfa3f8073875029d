/**
 * The edit worker's entry: the browser side of the controller (editController.ts). It wires the real device
 * session, model loader and edit jobs to the page's messages, and supplies what only a worker can do: posting with
 * transfers, ImageBitmaps for previews, and PNG encoding with OffscreenCanvas (the page never blocks on either).
 */
/// <reference lib="webworker" />
import * as ort from 'onnxruntime-web';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url';
import { EditController } from './editController';
import { DeviceSession } from './deviceSession';
import { editJobFactory, videoJobFactory, visionTowers } from './jobFactory';
import { ModelLoader } from './modelLoader';
import { atlasRunFactory } from './atlasRun';
import { importClip } from '../video/media/importClip.browser';
import { encodeVideo } from '../video/media/encodeVideo.browser';
import { transferablesOf, type EditCommand, type EditEvent } from './protocol';
import type { RgbaImage } from '../edit/jobTypes';
import type { WorkerPlatform } from './workerTypes';

declare const self: DedicatedWorkerGlobalScope;

// onnxruntime-web (the text tower) loads its WASM from our own build, never from a CDN.
ort.env.wasm.wasmPaths = { wasm: new URL(ortWasmUrl, self.location.href).href };

const imageData = (img: RgbaImage) => new ImageData(img.data as Uint8ClampedArray<ArrayBuffer>, img.width, img.height);

function canvas2d(width: number, height: number, readBack = false): OffscreenCanvasRenderingContext2D {
  const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: readBack });
  if (!ctx) throw new Error('OffscreenCanvas 2D is not available in this browser.');
  return ctx;
}

const platform: WorkerPlatform = {
  post: (event: EditEvent) => self.postMessage(event, transferablesOf(event)),
  toBitmap: (img) => createImageBitmap(imageData(img)),
  async encodePng(img) {
    const ctx = canvas2d(img.width, img.height);
    ctx.putImageData(imageData(img), 0, 0);
    return ctx.canvas.convertToBlob({ type: 'image/png' });
  },
  readPixels(img) {
    if (!(img instanceof ImageBitmap)) return img;
    const { width, height } = img;
    const ctx = canvas2d(width, height, true);
    ctx.drawImage(img, 0, 0);
    img.close();
    return { width, height, data: ctx.getImageData(0, 0, width, height, { colorSpace: 'srgb' }).data };
  },
  encodeVideo: (o) => encodeVideo(o),
};

// onnxruntime-web's WASM threads are module workers of the chunk that holds onnxruntime (possibly this file),
// named "em-pthread…": they must not run the edit worker.
if (!self.name?.startsWith('em-pthread')) {
  let debug = false;
  // One CLIP vision tower per device, shared by image and video edits.
  const towers = visionTowers();
  const controller = new EditController({
    platform,
    device: (onLost) => new DeviceSession({ gpu: () => navigator.gpu, onLost, debug: () => debug }),
    models: new ModelLoader(),
    jobs: editJobFactory(towers),
    videoJobs: videoJobFactory(towers),
    clipImporter: (input, options, onProgress, signal) =>
      importClip(input, options, (p) => onProgress(p.done, p.total), signal),
    atlases: atlasRunFactory(),
  });
  self.addEventListener('message', (ev: MessageEvent<EditCommand>) => {
    const cmd = ev.data;
    if (!cmd || typeof cmd !== 'object' || typeof cmd.type !== 'string') return;
    if (cmd.type === 'probe') debug = cmd.debug === true;
    controller.handle(cmd).catch((e: unknown) => {
      console.error(e);
      platform.post({
        type: 'error',
        kind: 'internal',
        message: e instanceof Error ? e.message : String(e),
        recoverable: true,
        command: cmd.type,
      });
    });
  });
}

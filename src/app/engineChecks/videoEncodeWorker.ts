/**
 * The `video-encode` check's worker: encodes the synthetic clip with the app's encoder (encodeVideo.browser.ts) in a
 * dedicated worker, where the edit worker runs it, and posts the file back (transferred) or the error it threw.
 */
/// <reference lib="webworker" />
import { encodeVideo } from '../../video/media/encodeVideo.browser';
import { type EncodeCase, type EncodeReply, FRAME_FAILURE, syntheticFrame } from './videoEncodeCase';

declare const self: DedicatedWorkerGlobalScope;

self.onmessage = async (event: MessageEvent<EncodeCase>) => {
  const c = event.data;
  const abort = new AbortController();
  let progressCalls = 0;
  let lastProgress: [number, number] | null = null;
  const t0 = performance.now();
  let reply: EncodeReply;
  try {
    const video = await encodeVideo({
      width: c.width,
      height: c.height,
      frameCount: c.frameCount,
      frameRate: c.frameRate,
      quality: c.quality,
      codecs: c.codecs,
      audio: c.audio,
      signal: abort.signal,
      frame: async (i) => {
        if (i === c.abortAtFrame) abort.abort();
        if (i === c.failAtFrame) throw new Error(FRAME_FAILURE + i);
        return syntheticFrame(i, c.width, c.height);
      },
      onProgress: (done, total) => {
        progressCalls++;
        lastProgress = [done, total];
      },
    });
    reply = { ok: true, video, ms: performance.now() - t0, progressCalls, lastProgress };
    self.postMessage(reply, [video.bytes.buffer as ArrayBuffer]);
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    const kind = (error as { kind?: unknown }).kind;
    reply = {
      ok: false,
      error: { name: error.name, message: error.message, ...(typeof kind === 'string' ? { kind } : {}) },
      ms: performance.now() - t0,
      progressCalls,
    };
    self.postMessage(reply);
  }
};

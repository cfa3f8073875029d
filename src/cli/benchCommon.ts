/** Timing helpers shared by the benchmarks in bench.ts (generator) and clipBench.ts (CLIP vision tower). */
import type { Engine } from '../gpu/engine';
import type { AdapterSummary } from '../gpu/device';

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Runs fn `warmup` times untimed, then `iters` times timed; each call is followed by engine.sync() (so the GPU work
 * it encoded is finished). fn may be async (e.g. it reads its result back). Returns milliseconds per call;
 * `progress` hears of each call as it finishes ("warm-up 1/1", "2/3").
 */
export async function timeIt(
  engine: Engine | null,
  iters: number,
  warmup: number,
  fn: () => unknown,
  progress?: (which: string, ms: number) => void,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < warmup + iters; i++) {
    const t0 = performance.now();
    await fn();
    await engine?.sync();
    const ms = performance.now() - t0;
    progress?.(i < warmup ? `warm-up ${i + 1}/${warmup}` : `${i - warmup + 1}/${iters}`, ms);
    if (i >= warmup) times.push(ms);
  }
  return times;
}

/** "google swiftshader … (fallback)" */
export function adapterLabel(s: AdapterSummary): string {
  return `${s.vendor} ${s.architecture} ${s.description}`.trim() + (s.isFallbackAdapter ? ' (fallback)' : '');
}

/** Helpers shared by the benchmarks of bench.ts: timing, the adapter's label, and the run of a report benchmark. */
import { writeFileSync } from 'node:fs';
import type { Engine } from '../gpu/engine';
import type { AdapterSummary } from '../gpu/device';
import { nodeEngine } from '../gpu/node';

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

/** What a benchmark that measures once and prints a report is made of (see runReportBench). */
export interface ReportBench<A, R> {
  name: string;
  usage: string;
  /** The arguments after the benchmark's name; null for --help. */
  parse(args: readonly string[]): A | null;
  measure(engine: Engine, args: A, log: (line: string) => void): Promise<R>;
  format(result: R): string[];
  /** Where --json writes the result, with what the JSON records of the arguments. */
  json(args: A): { path?: string; options: unknown };
}

/** Parses, measures on Node's WebGPU adapter, prints the report and writes --json; --help prints the usage. */
export async function runReportBench<A, R>(
  b: ReportBench<A, R>,
  args: readonly string[],
  log: (line: string) => void,
): Promise<void> {
  const a = b.parse(args);
  if (!a) {
    console.log(b.usage);
    return;
  }
  const engine = await nodeEngine();
  try {
    const r = await b.measure(engine, a, log);
    for (const line of b.format(r)) console.log(line);
    const { path, options } = b.json(a);
    if (path) writeFileSync(path, JSON.stringify({ benchmark: b.name, options, ...r }, null, 2));
  } finally {
    engine.destroy();
  }
}

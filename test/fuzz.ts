/**
 * Fuzzing helpers for the parsers of untrusted files: deterministic mutants of a valid file (every truncation,
 * seeded bit flips and byte overwrites) and a runner that checks each parse ends in a result or an accepted error,
 * quickly, without large allocations. Deterministic (seeded with src/nn/rng.ts) so a failure names a reproducible
 * case.
 */
import { Rng } from '../src/nn/rng';

export interface Mutant {
  /** What was done, e.g. "truncated to 17 bytes", "bits 803.2 1207.7 flipped". */
  label: string;
  bytes: Uint8Array;
}

/** Every strict prefix of `valid` (lengths 0..n−1), or about `maxCases` of them: all short ones, then evenly spaced. */
export function truncations(valid: Uint8Array, maxCases = Infinity): Mutant[] {
  const n = valid.length;
  const lengths = new Set<number>();
  if (n <= maxCases) for (let k = 0; k < n; k++) lengths.add(k);
  else {
    // Headers live at the start: keep every short prefix, then spread the rest (and the last bytes) evenly.
    const dense = Math.min(n, Math.floor(maxCases / 2));
    for (let k = 0; k < dense; k++) lengths.add(k);
    const rest = maxCases - dense;
    for (let i = 0; i < rest; i++) lengths.add(dense + Math.floor(((n - dense) * i) / rest));
    lengths.add(n - 1);
  }
  return [...lengths]
    .sort((a, b) => a - b)
    .map((k) => ({ label: `truncated to ${k} bytes`, bytes: valid.slice(0, k) }));
}

export interface FlipOptions {
  /** Bits flipped per mutant: 1..maxBits (default 3). */
  maxBits?: number;
  /** Only flip bits in bytes [start, end) (e.g. a header). */
  range?: [number, number];
}

/** `count` copies of `valid` with 1..maxBits random bits flipped each. */
export function bitFlips(valid: Uint8Array, count: number, seed: number, opts: FlipOptions = {}): Mutant[] {
  const rng = new Rng(seed);
  const [start, end] = opts.range ?? [0, valid.length];
  const out: Mutant[] = [];
  for (let k = 0; k < count; k++) {
    const bytes = valid.slice();
    const flips: string[] = [];
    const bits = rng.int(1, opts.maxBits ?? 3);
    for (let b = 0; b < bits; b++) {
      const at = rng.int(start, end - 1);
      const bit = rng.int(0, 7);
      bytes[at] ^= 1 << bit;
      flips.push(`${at}.${bit}`);
    }
    out.push({ label: `bits ${flips.join(' ')} flipped (seed ${seed}, #${k})`, bytes });
  }
  return out;
}

/** `count` copies of `valid` with one byte overwritten by 0x00, 0xff, 0x7f, 0x80 or a random value. */
export function byteOverwrites(valid: Uint8Array, count: number, seed: number, range?: [number, number]): Mutant[] {
  const rng = new Rng(seed);
  const [start, end] = range ?? [0, valid.length];
  const special = [0x00, 0xff, 0x7f, 0x80];
  const out: Mutant[] = [];
  for (let k = 0; k < count; k++) {
    const bytes = valid.slice();
    const at = rng.int(start, end - 1);
    const value = k % 2 === 0 ? special[rng.int(0, special.length - 1)] : rng.int(0, 255);
    bytes[at] = value;
    out.push({ label: `byte ${at} set to 0x${value.toString(16)} (seed ${seed}, #${k})`, bytes });
  }
  return out;
}

/** Random bytes (not derived from a valid file). */
export function randomBytes(length: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  return Uint8Array.from({ length }, () => rng.int(0, 255));
}

export interface FuzzReport {
  cases: number;
  /** Cases that parsed (a flip in data bytes often still gives a valid file). */
  parsed: number;
  /** Cases rejected with an accepted error. */
  rejected: number;
  /** Cases that threw anything else, or took too long: "label: Error: message". Expect this to be empty. */
  failures: string[];
  /** Wall time of all cases (ms). */
  totalMs: number;
  slowestMs: number;
  slowest: string;
}

export interface FuzzOptions<T> {
  /** Errors the parser may throw (its own error classes). */
  accept: (e: unknown) => boolean;
  /** Checks a successful result (e.g. sizes bounded by the input); throw to report a failure. */
  check?: (result: T, mutant: Mutant) => void;
  /** A single case taking longer than this is a failure (a hang check, not a speed test). Default 2000 ms. */
  caseLimitMs?: number;
}

function describeError(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : `non-error thrown: ${String(e)}`;
}

/** Runs `parse` on every mutant and reports how each ended. */
export async function fuzz<T>(
  mutants: readonly Mutant[],
  parse: (bytes: Uint8Array) => T | Promise<T>,
  opts: FuzzOptions<Awaited<T>>,
): Promise<FuzzReport> {
  const report: FuzzReport = {
    cases: mutants.length,
    parsed: 0,
    rejected: 0,
    failures: [],
    totalMs: 0,
    slowestMs: 0,
    slowest: '',
  };
  const limit = opts.caseLimitMs ?? 2000;
  const t0 = performance.now();
  for (const m of mutants) {
    const start = performance.now();
    try {
      const result = await parse(m.bytes);
      opts.check?.(result, m);
      report.parsed++;
    } catch (e) {
      if (opts.accept(e)) report.rejected++;
      else report.failures.push(`${m.label}: ${describeError(e)}`);
    }
    const ms = performance.now() - start;
    if (ms > report.slowestMs) {
      report.slowestMs = ms;
      report.slowest = m.label;
    }
    if (ms > limit) report.failures.push(`${m.label}: took ${ms.toFixed(0)} ms (limit ${limit} ms)`);
  }
  report.totalMs = performance.now() - t0;
  return report;
}

/** How an expected-to-fail call ended: its error, and how much array-buffer memory it left allocated. */
export interface Rejection {
  error: unknown;
  /** Growth of `process.memoryUsage().arrayBuffers` across the call, in bytes. */
  arrayBufferGrowth: number;
  ms: number;
}

/** Calls `fn`, which should throw, and measures what it allocated (typed arrays) and how long it took. */
export async function rejection(fn: () => unknown): Promise<Rejection> {
  const before = process.memoryUsage().arrayBuffers;
  const start = performance.now();
  let error: unknown = null;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  const ms = performance.now() - start;
  return { error, arrayBufferGrowth: process.memoryUsage().arrayBuffers - before, ms };
}

export const MiB = 1024 * 1024;

/** A safetensors file built by hand: any header object, any data bytes, optionally a false header length. */
export function rawSafetensors(
  header: unknown,
  data: Uint8Array = new Uint8Array(0),
  headerLength?: bigint,
): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

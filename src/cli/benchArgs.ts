/**
 * Command-line arguments of `npm run bench -- generator …` (bench.ts), parsed and validated without touching a GPU,
 * so a typo fails at once with a clear message (exit code 1) instead of after minutes of SwiftShader work.
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { DEFAULT_SKIP_CONFIG, minInputSide } from '../nn/skip';

export const GENERATOR_BENCH_USAGE = `Usage: npm run bench -- generator [options]

  --size N        square input, N×N pixels (default 512)
  --height H      input height (default: --size)
  --width W       input width (default: --size)
  --iters N       timed iterations; the median is reported (default 3, at least 1)
  --warmup N      untimed iterations first (default 1)
  --scales N      generator levels (default ${DEFAULT_SKIP_CONFIG.scales}); both sides must be at least 2^N + 1 px
  --channels N    channels of the down and up branches (default ${DEFAULT_SKIP_CONFIG.down})
  --json FILE     also write the result as JSON
  --help          this text`;

/** A command-line mistake: the message says what is wrong; the caller prints it with the usage and exits 1. */
export class BenchUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchUsageError';
  }
}

export interface GeneratorBenchOptions {
  height: number;
  width: number;
  iters: number;
  warmup: number;
  scales: number;
  channels: number;
  json?: string;
}

/** An integer option's value (`fallback` when absent), at least `min`; a BenchUsageError naming it otherwise. */
export function integerOption(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isSafeInteger(v) || v < min) {
    const what = min === 0 ? 'a non-negative integer' : min === 1 ? 'a positive integer' : `an integer ≥ ${min}`;
    throw new BenchUsageError(`--${name} must be ${what}, got "${raw}"`);
  }
  return v;
}

/** node:util parseArgs with strict options and no positionals; its errors become BenchUsageErrors. */
export function parseBenchOptions<O extends ParseArgsOptionsConfig>(args: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...args], strict: true, allowPositionals: false, options }).values;
  } catch (e) {
    const code = (e as { code?: string }).code;
    const msg = e instanceof Error ? e.message : String(e);
    const quoted = /'([^']+)'/.exec(msg)?.[1] ?? msg;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new BenchUsageError(`unknown option ${quoted}`);
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new BenchUsageError(`unexpected argument "${quoted}"`);
    throw new BenchUsageError(msg.replace(/^Option /, 'option '));
  }
}

/**
 * Parses the arguments after `generator`. Returns null for `--help`. Throws BenchUsageError for an unknown option, a
 * stray positional, a missing or non-integer value, or an input smaller than the generator accepts.
 */
export function parseGeneratorBenchArgs(args: readonly string[]): GeneratorBenchOptions | null {
  const values = parseBenchOptions(args, {
    size: { type: 'string' },
    height: { type: 'string' },
    width: { type: 'string' },
    iters: { type: 'string' },
    warmup: { type: 'string' },
    scales: { type: 'string' },
    channels: { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return null;
  const scales = integerOption('scales', values.scales, DEFAULT_SKIP_CONFIG.scales, 1);
  if (scales > 12) throw new BenchUsageError(`--scales must be at most 12, got ${scales}`);
  const channels = integerOption('channels', values.channels, DEFAULT_SKIP_CONFIG.down, 1);
  const size = integerOption('size', values.size, 512, 1);
  const height = integerOption('height', values.height, size, 1);
  const width = integerOption('width', values.width, size, 1);
  const min = minInputSide({ ...DEFAULT_SKIP_CONFIG, scales });
  if (height < min || width < min) {
    throw new BenchUsageError(
      `${width}×${height} px is too small: with ${scales} scales the generator needs at least ${min} px on each side`,
    );
  }
  const iters = integerOption('iters', values.iters, 3, 1);
  const warmup = integerOption('warmup', values.warmup, 1, 0);
  if (values.json !== undefined && values.json.trim() === '') throw new BenchUsageError('--json needs a file name');
  return {
    height,
    width,
    iters,
    warmup,
    scales,
    channels,
    ...(values.json !== undefined ? { json: values.json } : {}),
  };
}

/**
 * `text2live atlas`: the arguments (pure), and the errors a user can cause through the real entry (a subprocess):
 * each ends with one clear line and exit code 1 (a file, the trim, a missing ffmpeg, the settings) or 2 (the
 * command line, with the usage).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseAtlasArgs, readConfigOverrides } from './atlasCommand';
import { UsageError } from './usageError';

const BIN = new URL('../../bin/text2live.mjs', import.meta.url).pathname;
const BLACKSWAN = new URL('../../../shared/data/video/blackswan/frames', import.meta.url).pathname;
const VIDEO = new URL('../../../shared/data/video/car-turn.mp4', import.meta.url).pathname;
const run = promisify(execFile);

async function cli(args: string[], env: NodeJS.ProcessEnv = process.env) {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { timeout: 60_000, env });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('text2live atlas: arguments', () => {
  it('parses the clip, the trim, the size and the fit options', () => {
    expect(parseAtlasArgs(['clip.mp4', '--out', 'o'])).toEqual({
      clip: 'clip.mp4',
      masks: null,
      backgroundOnly: false,
      start: null,
      frames: null,
      stride: null,
      size: null,
      iterations: null,
      seed: null,
      logEvery: 10,
      checkpointEvery: 500,
      configFile: null,
      out: 'o',
    });
    const all = parseAtlasArgs([
      'frames/',
      '--masks',
      'masks/',
      '--start',
      '3',
      '--frames',
      '20',
      '--stride',
      '2',
      '--size',
      '384x216',
      '--iters',
      '5',
      '--seed',
      '0',
      '--log-every',
      '2',
      '--checkpoint-every',
      '0',
      '--config',
      'c.json',
      '--out',
      'out',
    ]);
    expect(all).toMatchObject({
      masks: 'masks/',
      start: 3,
      frames: 20,
      stride: 2,
      size: { width: 384, height: 216 },
      iterations: 5,
      seed: 0,
      logEvery: 2,
      checkpointEvery: 0,
      configFile: 'c.json',
    });
    expect(parseAtlasArgs(['c', '--out', 'o', '--masks', 'auto'])!.masks).toBe('auto');
    expect(parseAtlasArgs(['c', '--out', 'o', '--background-only'])!.backgroundOnly).toBe(true);
    expect(parseAtlasArgs(['--help'])).toBeNull();
  });

  it('names what is wrong', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--out', 'o'], /missing the clip/],
      [['a', 'b', '--out', 'o'], /expected one clip, got a b/],
      [['a'], /--out is required/],
      [['a', '--out', 'o', '--size', '384'], /--size must be WIDTHxHEIGHT/],
      [['a', '--out', 'o', '--size', '8x8'], /both sides in 16\.\.4096/],
      [['a', '--out', 'o', '--frames', '0'], /--frames must be a positive integer, got "0"/],
      [['a', '--out', 'o', '--start=-1'], /--start must be a non-negative integer/],
      [['a', '--out', 'o', '--iters', '2.5'], /--iters must be a positive integer/],
      [['a', '--out', 'o', '--masks', 'm', '--background-only'], /exclude each other/],
      [['a', '--out', 'o', '--fast'], /Unknown option '--fast'/],
    ];
    for (const [args, message] of cases) {
      expect(() => parseAtlasArgs(args), args.join(' ')).toThrow(UsageError);
      expect(() => parseAtlasArgs(args), args.join(' ')).toThrow(message);
    }
  });

  it('reads config overrides and names unknown settings', async () => {
    const dir = mkdtempSync(join(tmpdir(), 't2l-atlas-config-'));
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    expect(await readConfigOverrides(file('ok.json', '{"batch": 512, "weights": {"flow": 2}}'))).toEqual({
      batch: 512,
      weights: { flow: 2 },
    });
    await expect(readConfigOverrides(file('typo.json', '{"bacth": 512}'))).rejects.toThrow(/unknown setting "bacth"/);
    await expect(readConfigOverrides(file('w.json', '{"weights": {"rbg": 1}}'))).rejects.toThrow(
      /unknown weight "rbg"/,
    );
    await expect(readConfigOverrides(file('bad.json', '{'))).rejects.toThrow(/not valid JSON/);
    await expect(readConfigOverrides(file('arr.json', '[1]'))).rejects.toThrow(/JSON object/);
    await expect(readConfigOverrides(join(dir, 'none.json'))).rejects.toThrow(/Cannot read the config file/);
  });
});

describe('text2live atlas: errors through the entry', () => {
  it('ends each with one clear line and exit code 1 (2 for the command line)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 't2l-atlas-errors-'));
    const badConfig = join(dir, 'bad.json');
    writeFileSync(badConfig, '{"batch": 3}');
    const out = join(dir, 'out');
    const noFfmpeg = { ...process.env, PATH: join(dir, 'empty-path') };
    const [missing, trim, ffmpeg, size, config] = await Promise.all([
      cli(['atlas', 'no/such/clip', '--out', out]),
      cli(['atlas', BLACKSWAN, '--start', '60', '--out', out]),
      cli(['atlas', VIDEO, '--out', out], noFfmpeg),
      cli(['atlas', BLACKSWAN, '--size', '384', '--out', out]),
      cli(['atlas', BLACKSWAN, '--config', badConfig, '--out', out]),
    ]);
    const oneLine = (r: { stderr: string }) => r.stderr.trim().split('\n');
    expect(missing.code).toBe(1);
    expect(oneLine(missing)).toEqual([
      expect.stringMatching(/^text2live atlas: Cannot read no\/such\/clip: no such file/),
    ]);
    expect(trim.code).toBe(1);
    expect(oneLine(trim)).toEqual([expect.stringMatching(/^text2live atlas: .*60/)]);
    expect(ffmpeg.code).toBe(1);
    expect(oneLine(ffmpeg)).toEqual([
      expect.stringMatching(/^text2live atlas: .*needs ffmpeg and ffprobe.*not on PATH/),
    ]);
    expect(size.code).toBe(2);
    expect(size.stderr).toMatch(/^text2live atlas: --size must be WIDTHxHEIGHT/);
    expect(size.stderr).toMatch(/Usage: text2live atlas/);
    expect(config.code).toBe(1);
    expect(oneLine(config)).toEqual([expect.stringMatching(/^text2live atlas: batch must be a whole number/)]);
  });
});

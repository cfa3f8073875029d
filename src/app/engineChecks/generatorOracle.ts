/**
 * Check `generator-oracle`: the SkipGenerator against its PyTorch oracle (test/fixtures/generator_small.safetensors)
 * in the browser, with exactly the rules of the Node test (src/nn/generatorOracle.ts holds them for both).
 *
 * The fixture is fetched from `/fixtures/generator_small.safetensors` unless the page URL has `?fixture=URL` or the
 * caller passes `{ fixture: URL }` to `window.__engineCheck.run('generator-oracle', …)` (the argument wins). The
 * production build does not ship test fixtures: the e2e test serves the file with Playwright's `page.route`; by hand,
 * copy it next to the page or point `?fixture=` at a copy.
 */
import {
  GENERATOR_ORACLE_TOLERANCES,
  type GeneratorOracleReport,
  parseGeneratorFixture,
  runGeneratorOracle,
} from '../../nn/generatorOracle';
import { SafetensorsError } from '../../nn/safetensors';
import type { CheckOptions, CheckOutcome, EngineCheck } from './types';

export const DEFAULT_FIXTURE_URL = '/fixtures/generator_small.safetensors';

/** Keys of the errors and notes this check reports (the e2e test reads them). */
export const ORACLE_KEYS = {
  output: 'output: max abs error',
  worstGradient: 'gradients: worst relative error',
  worstZeroGradient: 'zero gradients: worst max |grad| / largest gradient',
  /** Per parameter: `${gradientPrefix}${name}` (relative error, or max |grad| / largest for the zero ones). */
  gradientPrefix: 'grad ',
  worstGradientName: 'worst gradient',
  relativeCount: 'parameters checked by relative error',
  zeroCount: 'parameters checked for a zero gradient',
  parameterTensors: 'parameter tensors',
  fixtureUrl: 'fixture',
} as const;

const HINT =
  'The production build does not ship test fixtures: serve test/fixtures/generator_small.safetensors at that URL ' +
  '(the e2e test does it with page.route), or pass ?fixture=URL pointing at a copy.';

export class FixtureUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FixtureUnavailableError';
  }
}

/** Where to fetch the fixture from: the option, else the page's `?fixture=`, else the default; absolute. */
export function fixtureUrl(options: CheckOptions, pageUrl: string): string {
  const fromQuery = new URL(pageUrl).searchParams.get('fixture');
  return new URL(options.fixture || fromQuery || DEFAULT_FIXTURE_URL, pageUrl).href;
}

/** Fetches the fixture, turning every way it can be missing into a FixtureUnavailableError that names the URL. */
export async function fetchFixture(url: string): Promise<Uint8Array> {
  const fail = (why: string) =>
    new FixtureUnavailableError(`Could not load the generator fixture from ${url}: ${why}. ${HINT}`);
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw fail(`the request failed (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!res.ok) throw fail(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
  // Vite's dev and preview servers answer a missing file with the app's index.html and status 200.
  if ((res.headers.get('content-type') ?? '').includes('text/html')) {
    throw fail('the server answered with an HTML page, not a safetensors file (is the fixture deployed?)');
  }
  return new Uint8Array(await res.arrayBuffer());
}

/** The report as a check outcome. The headline is the worst gradient relative error; `ok` judges every rule. */
export function oracleOutcome(report: GeneratorOracleReport, url: string): CheckOutcome {
  const T = GENERATOR_ORACLE_TOLERANCES;
  const K = ORACLE_KEYS;
  const worst = report.relative[0];
  const worstZero = report.zero[0];
  const errors: Record<string, number> = {
    [K.output]: report.outputMaxAbsError,
    [K.worstGradient]: worst ? worst.relativeError : NaN,
    [K.worstZeroGradient]: worstZero ? worstZero.relativeToLargest : 0,
  };
  const tolerances: Record<string, number> = {
    [K.output]: T.output,
    [K.worstGradient]: T.gradientRelative,
    [K.worstZeroGradient]: T.zeroGradient,
  };
  for (const r of report.relative) {
    errors[`${K.gradientPrefix}${r.name}`] = r.relativeError;
    tolerances[`${K.gradientPrefix}${r.name}`] = T.gradientRelative;
  }
  for (const z of report.zero) {
    const key = `${K.gradientPrefix}${z.name} (zero: max |grad| / largest)`;
    errors[key] = z.relativeToLargest;
    tolerances[key] = T.zeroGradient;
  }
  const e = (x: number) => (Number.isFinite(x) ? x.toExponential(2) : String(x));
  return {
    maxError: errors[K.worstGradient],
    tolerance: T.gradientRelative,
    errors,
    tolerances,
    failures: report.failures,
    notes: {
      [K.worstGradientName]: worst?.name ?? '',
      [K.relativeCount]: report.relative.length,
      [K.zeroCount]: report.zero.length,
      [K.parameterTensors]: report.parameterTensors,
      [K.fixtureUrl]: url,
    },
    summary:
      `Output max abs error ${e(report.outputMaxAbsError)} (tolerance ${e(T.output)}); worst gradient relative ` +
      `error ${e(errors[K.worstGradient])} in ${worst?.name ?? '—'} (tolerance ${e(T.gradientRelative)}); ` +
      `${report.zero.length} analytically zero gradients, the largest ${e(errors[K.worstZeroGradient])} × the ` +
      `largest gradient (tolerance ${e(T.zeroGradient)}).`,
  };
}

export const generatorOracle: EngineCheck = {
  title: 'Skip generator against the PyTorch oracle',
  description:
    'Fetches test/fixtures/generator_small.safetensors (3 scales, 8 channels, a 201×137 input), builds the ' +
    'generator from its metadata and parameters, runs forward and the tape’s backward seeded with its loss weights, ' +
    'and compares the output (absolute) and every parameter gradient (relative to that parameter’s largest) with ' +
    'PyTorch. Gradients that are analytically zero (conv biases feeding a BN) must be zero instead. ' +
    `Fixture URL: ${DEFAULT_FIXTURE_URL}, or ?fixture=URL.`,
  async run(engine, options) {
    const url = fixtureUrl(options, location.href);
    const bytes = await fetchFixture(url);
    let fixture;
    try {
      fixture = parseGeneratorFixture(bytes);
    } catch (e) {
      if (e instanceof SafetensorsError) {
        throw new FixtureUnavailableError(`${url} is not a valid generator fixture: ${e.message}`);
      }
      throw e;
    }
    return oracleOutcome(await runGeneratorOracle(engine, fixture), url);
  },
};

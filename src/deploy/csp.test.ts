import { describe, expect, it } from 'vitest';
import { META_UNSUPPORTED_DIRECTIVES, metaCsp, parseCsp, serializeCsp, withSources } from './csp.mjs';

const POLICY = "default-src 'self';  script-src 'self' 'wasm-unsafe-eval'; frame-ancestors 'none'; report-uri /r ;";

describe('CSP directives', () => {
  it('parses and writes a policy back (spacing normalized, names lower-cased)', () => {
    expect(parseCsp("Default-Src 'self'; img-src blob: data:;")).toEqual([
      ['default-src', ["'self'"]],
      ['img-src', ['blob:', 'data:']],
    ]);
    expect(serializeCsp(parseCsp(POLICY))).toBe(
      "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; frame-ancestors 'none'; report-uri /r",
    );
  });

  it('leaves out of the meta copy what a meta tag cannot carry', () => {
    expect(META_UNSUPPORTED_DIRECTIVES).toEqual(['frame-ancestors', 'report-uri', 'sandbox']);
    expect(metaCsp(`${POLICY}; sandbox allow-scripts`)).toBe(
      "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'",
    );
  });

  it('adds sources to one directive once, and refuses a directive the policy lacks', () => {
    const dev = withSources(POLICY, 'script-src', ["'unsafe-inline'", "'self'"]);
    expect(parseCsp(dev)[1]).toEqual(['script-src', ["'self'", "'wasm-unsafe-eval'", "'unsafe-inline'"]]);
    expect(() => withSources(POLICY, 'connect-src', ['ws:'])).toThrow(/no connect-src directive/);
  });
});

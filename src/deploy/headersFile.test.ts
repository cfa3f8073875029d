import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { metaCsp, parseCsp } from './csp.mjs';
import { headersFor, headerValue, HeadersFileError, parseHeadersFile, patternMatches } from './headersFile.mjs';

describe('parseHeadersFile', () => {
  it('reads rules, their headers, comments and blank lines', () => {
    const rules = parseHeadersFile(
      '# a comment\n/*\n  X-A: 1\n  X-B: two words: yes\n\n/assets/*\n\tCache-Control: immutable\r\n',
    );
    expect(rules).toEqual([
      {
        pattern: '/*',
        headers: [
          ['X-A', '1'],
          ['X-B', 'two words: yes'],
        ],
      },
      { pattern: '/assets/*', headers: [['Cache-Control', 'immutable']] },
    ]);
  });

  it.each([
    ['  X-A: 1\n', /line 1: a header before any path pattern/],
    ['/*\n  no colon\n', /line 2: expected "Name: value"/],
    ['/*\n  Bad Name: 1\n', /line 2: not a header name/],
    ['assets/*\n', /line 1: a path pattern must start with "\/"/],
  ])('rejects %j', (text, message) => {
    expect(() => parseHeadersFile(text)).toThrow(HeadersFileError);
    expect(() => parseHeadersFile(text)).toThrow(message);
  });
});

describe('patternMatches', () => {
  it('matches splats across slashes and placeholders within one segment', () => {
    expect(patternMatches('/*', '/')).toBe(true);
    expect(patternMatches('/*', '/assets/a.js')).toBe(true);
    expect(patternMatches('/assets/*', '/assets/x/y.wasm')).toBe(true);
    expect(patternMatches('/assets/*', '/index.html')).toBe(false);
    expect(patternMatches('/models/:name/config.json', '/models/tiny/config.json')).toBe(true);
    expect(patternMatches('/models/:name/config.json', '/models/a/b/config.json')).toBe(false);
    expect(patternMatches('/a.b', '/aXb')).toBe(false);
  });
});

describe('headersFor', () => {
  it('applies every matching rule in order and joins a repeated header', () => {
    const rules = parseHeadersFile('/*\n  X-A: 1\n  Vary: Accept\n/assets/*\n  vary: Origin\n  X-C: 3\n');
    expect(headersFor(rules, '/')).toEqual({ 'X-A': '1', Vary: 'Accept' });
    expect(headersFor(rules, '/assets/a.js')).toEqual({ 'X-A': '1', Vary: 'Accept, Origin', 'X-C': '3' });
    expect(headerValue(headersFor(rules, '/'), 'x-a')).toBe('1');
    expect(headerValue({}, 'x-a')).toBeUndefined();
  });
});

describe('public/_headers', () => {
  const rules = parseHeadersFile(readFileSync(new URL('../../public/_headers', import.meta.url), 'utf8'));

  it('isolates every page and asset, and gives them the CSP', () => {
    for (const path of ['/', '/index.html', '/engine-check.html', '/assets/editWorker-abc.js', '/models/x.onnx']) {
      const h = headersFor(rules, path);
      expect(headerValue(h, 'Cross-Origin-Opener-Policy'), path).toBe('same-origin');
      expect(headerValue(h, 'Cross-Origin-Embedder-Policy'), path).toBe('require-corp');
      expect(headerValue(h, 'Content-Security-Policy'), path).toContain("script-src 'self' 'wasm-unsafe-eval'");
    }
  });

  it('caches hashed assets for good and nothing else', () => {
    expect(headerValue(headersFor(rules, '/assets/main-abc.js'), 'Cache-Control')).toMatch(/immutable/);
    expect(headerValue(headersFor(rules, '/index.html'), 'Cache-Control')).toBeUndefined();
  });

  it('has a CSP without inline or remote scripts, whose meta copy only loses frame-ancestors', () => {
    const csp = headerValue(headersFor(rules, '/'), 'Content-Security-Policy')!;
    const scripts = parseCsp(csp).find(([name]) => name === 'script-src')![1];
    expect(scripts).toEqual(["'self'", "'wasm-unsafe-eval'"]);
    const names = (p: string) => parseCsp(p).map(([name]) => name);
    expect(names(csp).filter((n) => !names(metaCsp(csp)).includes(n))).toEqual(['frame-ancestors']);
  });
});

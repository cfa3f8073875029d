/**
 * The `_headers` file static hosts read (Netlify, Cloudflare Pages): an unindented path pattern, then its headers
 * indented below it as `Name: value`; `#` starts a comment. A pattern's `*` matches any run of characters (slashes
 * included) and a `:name` segment matches one path segment. Every rule whose pattern matches a path applies, in file
 * order; a header set by several is joined with ", " (as Cloudflare Pages does).
 *
 * Read by vite.config.ts (the dev and preview servers send the same headers) and by the end-to-end tests' static
 * server, so that what a static host sends is what every test saw. Plain JavaScript with its types beside it
 * (headersFile.d.mts): Vite's config loader wants the imports of vite.config.ts to name their files, and
 * tsconfig does not allow importing `.ts` by name.
 */

export class HeadersFileError extends Error {
  /**
   * @param {number} line
   * @param {string} message
   */
  constructor(line, message) {
    super(`_headers line ${line}: ${message}`);
    this.name = 'HeadersFileError';
  }
}

/** @param {string} text */
export function parseHeadersFile(text) {
  /** @type {{ pattern: string, headers: [string, string][] }[]} */
  const rules = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trimEnd();
    if (line.trim() === '' || line.trim().startsWith('#')) return;
    if (!/^\s/.test(line)) {
      if (!line.startsWith('/')) throw new HeadersFileError(i + 1, `a path pattern must start with "/": ${line}`);
      rules.push({ pattern: line, headers: [] });
      return;
    }
    const rule = rules[rules.length - 1];
    if (!rule) throw new HeadersFileError(i + 1, 'a header before any path pattern');
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HeadersFileError(i + 1, `expected "Name: value": ${line.trim()}`);
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (!/^[A-Za-z0-9-]+$/.test(name)) throw new HeadersFileError(i + 1, `not a header name: ${name}`);
    rule.headers.push([name, value]);
  });
  return rules;
}

/** @param {string} pattern */
function patternRegExp(pattern) {
  const body = pattern
    .split(/(\*|:[A-Za-z_][A-Za-z0-9_]*)/)
    .map((part) => {
      if (part === '*') return '.*';
      if (part.startsWith(':')) return '[^/]+';
      return part.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${body}$`);
}

/**
 * @param {string} pattern
 * @param {string} path
 */
export function patternMatches(pattern, path) {
  return patternRegExp(pattern).test(path);
}

/**
 * The headers of every rule matching `path` (a URL path, without the query), keyed by their name as first written.
 * @param {readonly { pattern: string, headers: ReadonlyArray<readonly [string, string]> }[]} rules
 * @param {string} path
 */
export function headersFor(rules, path) {
  /** @type {Record<string, string>} */
  const out = {};
  const keyOf = new Map();
  for (const rule of rules) {
    if (!patternMatches(rule.pattern, path)) continue;
    for (const [name, value] of rule.headers) {
      const key = keyOf.get(name.toLowerCase());
      if (key === undefined) {
        keyOf.set(name.toLowerCase(), name);
        out[name] = value;
      } else {
        out[key] = `${out[key]}, ${value}`;
      }
    }
  }
  return out;
}

/**
 * One header's value (names compared case-insensitively), or undefined.
 * @param {Record<string, string>} headers
 * @param {string} name
 */
export function headerValue(headers, name) {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : headers[key];
}

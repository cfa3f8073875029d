/**
 * Content-Security-Policy strings as directives: the copy a `<meta http-equiv>` tag can carry, and the dev server's
 * relaxations on top of the production policy. Plain JavaScript with its types beside it (csp.d.mts), for the
 * reason headersFile.mjs gives.
 */

/**
 * Directives a meta tag cannot carry (CSP Level 3: the browser drops them from a meta policy and warns). COOP and
 * COEP cannot be set by a meta tag at all; they come from response headers only.
 * @type {readonly string[]}
 */
export const META_UNSUPPORTED_DIRECTIVES = ['frame-ancestors', 'report-uri', 'sandbox'];

/**
 * @param {string} policy
 * @returns {[string, string[]][]}
 */
export function parseCsp(policy) {
  return policy
    .split(';')
    .map((d) => d.trim().split(/\s+/))
    .filter((parts) => parts[0] !== '')
    .map(([name, ...sources]) => [name.toLowerCase(), sources]);
}

/** @param {ReadonlyArray<readonly [string, readonly string[]]>} directives */
export function serializeCsp(directives) {
  return directives.map(([name, sources]) => [name, ...sources].join(' ')).join('; ');
}

/**
 * The policy without the directives a meta tag cannot carry.
 * @param {string} policy
 */
export function metaCsp(policy) {
  return serializeCsp(parseCsp(policy).filter(([name]) => !META_UNSUPPORTED_DIRECTIVES.includes(name)));
}

/**
 * The policy with `extra` sources added to one directive (which must be there).
 * @param {string} policy
 * @param {string} directive
 * @param {readonly string[]} extra
 */
export function withSources(policy, directive, extra) {
  const directives = parseCsp(policy);
  if (!directives.some(([name]) => name === directive)) throw new Error(`the CSP has no ${directive} directive`);
  return serializeCsp(
    directives.map(([name, sources]) =>
      name === directive ? [name, [...sources, ...extra.filter((s) => !sources.includes(s))]] : [name, sources],
    ),
  );
}

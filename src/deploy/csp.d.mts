/** Types of csp.mjs: Content-Security-Policy strings as directives. */
export type CspDirectives = ReadonlyArray<readonly [name: string, sources: readonly string[]]>;

export const META_UNSUPPORTED_DIRECTIVES: readonly string[];
export function parseCsp(policy: string): [name: string, sources: string[]][];
export function serializeCsp(directives: CspDirectives): string;
export function metaCsp(policy: string): string;
export function withSources(policy: string, directive: string, extra: readonly string[]): string;

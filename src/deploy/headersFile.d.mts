/** Types of headersFile.mjs: the `_headers` file of static hosts. */
export interface HeaderRule {
  pattern: string;
  headers: ReadonlyArray<readonly [name: string, value: string]>;
}

export class HeadersFileError extends Error {
  constructor(line: number, message: string);
}

export function parseHeadersFile(text: string): HeaderRule[];
export function patternMatches(pattern: string, path: string): boolean;
export function headersFor(rules: readonly HeaderRule[], path: string): Record<string, string>;
export function headerValue(headers: Record<string, string>, name: string): string | undefined;

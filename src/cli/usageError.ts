import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/** A wrong command line: the entry prints the message with the command's usage and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Parses a command's options (strict, node:util's parseArgs) and its one positional argument. Null when --help is
 * given; a UsageError for an unknown option, a missing value, or not exactly one positional (`noun`: what it is,
 * `missing`: the message without it).
 */
export function parseCommandLine<O extends ParseArgsOptionsConfig>(
  argv: readonly string[],
  options: O,
  positional: { noun: string; missing: string },
) {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if ((parsed.values as { help?: boolean }).help) return null;
  if (parsed.positionals.length !== 1) {
    throw new UsageError(
      parsed.positionals.length === 0
        ? positional.missing
        : `expected one ${positional.noun}, got ${parsed.positionals.join(' ')}`,
    );
  }
  return { values: parsed.values, positional: parsed.positionals[0] };
}

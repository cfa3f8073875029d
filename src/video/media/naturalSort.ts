/**
 * Natural order for frame file names: digit runs compare as numbers ("frame2" before "frame10"), letters without
 * regard to case. Intl.Collator's numeric collation does exactly this; a fixed locale keeps the order the same on
 * every machine, and a plain comparison breaks ties ("01" and "1") so the order is total.
 */
const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

export function naturalCompare(a: string, b: string): number {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

export function naturalSort<T>(items: readonly T[], key: (item: T) => string): T[] {
  return [...items].sort((x, y) => naturalCompare(key(x), key(y)));
}

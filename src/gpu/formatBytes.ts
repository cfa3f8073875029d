/**
 * Byte counts for people, the one formatter of the project. `binary` (the default) for GPU memory and limits, in
 * powers of 1024 as the APIs count them: 1073741824 → "1 GiB", 25165824 → "24 MiB", 1288490188 → "1.2 GiB".
 * `si` for downloads and files, in powers of 1000 as browsers and servers count them: 352000000 → "352.0 MB".
 */
export function formatBytes(bytes: number, system: 'binary' | 'si' = 'binary'): string {
  if (system === 'si') {
    if (bytes < 1e3) return `${bytes} B`;
    if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
    if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
    return `${(bytes / 1e9).toFixed(2)} GB`;
  }
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(Number.isInteger(v) ? 0 : 1)} ${units[i]}`;
}

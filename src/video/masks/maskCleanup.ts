/** The morphological clean-up of a raw motion mask: opening, closing, small components out, holes filled. */
import { fillHoles, removeSmallComponents } from './components';
import { close, open } from './morphology';

export interface CleanupSettings {
  openRadius: number;
  closeRadius: number;
  minComponentArea: number;
  fillHoles: boolean;
}

/** Opening first (specks would otherwise be closed into blobs), then closing, then components and holes. */
export function cleanMask(mask: Uint8Array, width: number, height: number, s: CleanupSettings): Uint8Array {
  let m = s.openRadius > 0 ? open(mask, width, height, s.openRadius) : mask;
  if (s.closeRadius > 0) m = close(m, width, height, s.closeRadius);
  return tidyComponents(m, width, height, s);
}

/** Small components removed, then holes filled (after a temporal vote, too). */
export function tidyComponents(mask: Uint8Array, width: number, height: number, s: CleanupSettings): Uint8Array {
  const m = removeSmallComponents(mask, width, height, s.minComponentArea);
  return s.fillHoles ? fillHoles(m, width, height) : m;
}

/** A canvas showing one ImageBitmap at its own size (scaled down by CSS), redrawn when the bitmap changes. */
import { useEffect, useRef, type CanvasHTMLAttributes } from 'react';

/** Draws `bitmap` (or clears) onto `canvas`, sized to it; a bitmap closed meanwhile is skipped. */
export function drawBitmap(canvas: HTMLCanvasElement, bitmap: ImageBitmap | null): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  if (!bitmap || bitmap.width === 0) {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    return;
  }
  if (canvas.width !== bitmap.width) canvas.width = bitmap.width;
  if (canvas.height !== bitmap.height) canvas.height = bitmap.height;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  try {
    ctx.drawImage(bitmap, 0, 0);
  } catch {
    // Closed after a newer one replaced it: the next render draws that one.
  }
}

export function BitmapCanvas({
  bitmap,
  ...rest
}: { bitmap: ImageBitmap | null } & CanvasHTMLAttributes<HTMLCanvasElement> & Record<`data-${string}`, unknown>) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (ref.current) drawBitmap(ref.current, bitmap);
  }, [bitmap]);
  return <canvas ref={ref} role="img" {...rest} />;
}

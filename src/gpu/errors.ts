/** An error the engine raises before the GPU sees a bad request: it names the op, the shapes and the sizes. */
export class EngineError extends Error {
  constructor(
    readonly op: string,
    message: string,
  ) {
    super(`${op}: ${message}`);
    this.name = 'EngineError';
  }
}

/** The GPU device was lost (driver reset, tab backgrounded too long, explicit destroy). */
export class DeviceLostError extends Error {
  constructor(readonly reason: string) {
    super(`The GPU device was lost (${reason}).`);
    this.name = 'DeviceLostError';
  }
}

/** The GPU reported that it ran out of memory. */
export class GpuOutOfMemoryError extends Error {
  constructor(readonly detail: string) {
    super(`The GPU ran out of memory: ${detail}`);
    this.name = 'GpuOutOfMemoryError';
  }
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

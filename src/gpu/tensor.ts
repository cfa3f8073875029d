/** A float32 tensor in a pooled GPU buffer. Row-major, shapes such as [C,H,W] or [N,C,H,W]. */
import type { Engine } from './engine';
import { EngineError, shapeStr } from './errors';

let nextId = 1;

export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly size: number;
  /** True for parameters and inputs we differentiate with respect to, and for outputs of recorded ops. */
  requiresGrad = false;
  /** Set on leaf tensors by Tape.backward. */
  grad: Tensor | null = null;
  private buf: GPUBuffer | null;

  constructor(
    readonly engine: Engine,
    shape: readonly number[],
    /** The op that made it, for error messages. */
    readonly op: string,
  ) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new EngineError(op, `invalid shape ${shapeStr(shape)}`);
    }
    this.shape = [...shape];
    this.size = shape.reduce((a, b) => a * b, 1);
    try {
      this.buf = engine.pool.acquire(Math.max(4, this.size * 4), op);
    } catch (e) {
      if (e instanceof EngineError)
        throw new EngineError(op, `tensor ${shapeStr(shape)}: ${e.message.slice(op.length + 2)}`);
      throw e;
    }
    engine.track(this);
  }

  get byteSize(): number {
    return this.size * 4;
  }

  get released(): boolean {
    return this.buf === null;
  }

  get buffer(): GPUBuffer {
    if (!this.buf) throw new EngineError(this.op, `tensor #${this.id} ${shapeStr(this.shape)} was used after release`);
    return this.buf;
  }

  /** Excludes this tensor from scope release: the caller owns it (parameters, optimizer state, caches). */
  keep(): this {
    this.engine.untrack(this);
    return this;
  }

  release(): void {
    if (!this.buf) return;
    this.engine.pool.release(this.buf);
    this.buf = null;
    this.engine.untrack(this);
  }

  async read(): Promise<Float32Array> {
    return new Float32Array(await this.engine.readBytes(this.buffer, this.byteSize));
  }

  /** Reads a scalar (a one-element tensor). */
  async item(): Promise<number> {
    if (this.size !== 1) throw new EngineError('item', `expected one element, got ${shapeStr(this.shape)}`);
    return (await this.read())[0];
  }

  toString(): string {
    return `Tensor#${this.id}${shapeStr(this.shape)}(${this.op})`;
  }
}

/** Reverse-mode automatic differentiation over recorded ops. */
import type { Engine } from './engine';
import { EngineError, shapeStr } from './errors';
import { Params } from './params';
import { Tensor } from './tensor';

/** Given the gradient of the op's output, returns one gradient per input (null where not needed). */
export type BackwardFn = (gradOut: Tensor) => Array<Tensor | null>;

interface Node {
  name: string;
  inputs: Tensor[];
  output: Tensor;
  backward: BackwardFn;
}

const ACCUMULATE_WGSL = /* wgsl */ `
struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i < p.n) { out[i] = a[i] + b[i]; }
}`;

function addGradients(engine: Engine, a: Tensor, b: Tensor): Tensor {
  const out = engine.empty(a.shape, 'grad-accumulate');
  engine.run({
    name: 'grad-accumulate',
    code: ACCUMULATE_WGSL,
    params: new Params().u32(a.size),
    read: [a, b],
    write: [out],
    workgroups: engine.grid(a.size, 256),
  });
  return out;
}

export class Tape {
  private readonly nodes: Node[] = [];
  private recording = true;

  constructor(private readonly engine: Engine) {}

  /** Starts recording on the engine: ops called until backward() are recorded. */
  static start(engine: Engine): Tape {
    const tape = new Tape(engine);
    engine.activeTape = tape;
    return tape;
  }

  get length(): number {
    return this.nodes.length;
  }

  push(node: Node): void {
    if (!this.recording) throw new Error('Tape: recording after backward()');
    this.nodes.push(node);
  }

  /**
   * Runs the recorded ops' backward functions in reverse order, from `seed` (default: ones for a scalar
   * output). Sets `.grad` on every leaf tensor that requires grad and returns those gradients.
   * Intermediate gradients are released as soon as they have been consumed, except those of the
   * tensors in `keepGradsOf` (e.g. attention probabilities for relevancy maps), which are returned too.
   */
  backward(output: Tensor, seed?: Tensor, keepGradsOf: readonly Tensor[] = []): Map<Tensor, Tensor> {
    return this.backwardMany([{ output, grad: seed ?? null }], keepGradsOf);
  }

  /**
   * Backward from several outputs at once, each with its gradient (null: ones, for a scalar output).
   * Used when the gradients of some outputs were accumulated separately (e.g. CLIP losses processed
   * view chunk by view chunk) and one backward through the generator finishes the step.
   * With `accumulate`, a leaf that already has a `.grad` gets the sum (several backward passes through the
   * same parameters, e.g. one per generator input); otherwise `.grad` is replaced.
   */
  backwardMany(
    seeds: ReadonlyArray<{ output: Tensor; grad: Tensor | null }>,
    keepGradsOf: readonly Tensor[] = [],
    opts: { accumulate?: boolean } = {},
  ): Map<Tensor, Tensor> {
    const retained = new Set(keepGradsOf);
    const engine = this.engine;
    if (engine.activeTape === this) engine.activeTape = null;
    this.recording = false;
    const produced = new Set(this.nodes.map((n) => n.output));
    const grads = new Map<Tensor, Tensor>();
    const refs = new Map<Tensor, number>();
    const retain = (g: Tensor) => refs.set(g, (refs.get(g) ?? 0) + 1);
    const drop = (g: Tensor) => {
      const n = (refs.get(g) ?? 0) - 1;
      if (n <= 0) {
        refs.delete(g);
        g.release();
      } else refs.set(g, n);
    };

    return engine.noGrad(() => {
      for (const { output, grad } of seeds) {
        if (grads.has(output)) throw new EngineError('backward', `output ${output} is seeded twice`);
        let seedGrad = grad;
        if (!seedGrad) {
          if (output.size !== 1) {
            throw new EngineError('backward', `output ${shapeStr(output.shape)} is not a scalar: pass a seed gradient`);
          }
          seedGrad = engine.fromArray([1], [1], 'backward-seed');
        } else if (seedGrad.size !== output.size) {
          throw new EngineError(
            'backward',
            `seed ${shapeStr(seedGrad.shape)} does not match ${shapeStr(output.shape)}`,
          );
        }
        grads.set(output, seedGrad);
        retain(seedGrad);
        // The caller's seed is theirs: count one extra reference so it is never released here.
        if (grad) retain(seedGrad);
      }
      const outputs = new Set(seeds.map((s) => s.output));

      for (let i = this.nodes.length - 1; i >= 0; i--) {
        const node = this.nodes[i];
        const gy = grads.get(node.output);
        if (!gy) continue;
        const gxs = node.backward(gy);
        if (gxs.length !== node.inputs.length) {
          throw new EngineError(
            node.name,
            `backward returned ${gxs.length} gradients for ${node.inputs.length} inputs`,
          );
        }
        gxs.forEach((gx, k) => {
          const input = node.inputs[k];
          // Ops return null for inputs that need no gradient; anything else is left to the scope.
          if (!gx || !input.requiresGrad) return;
          if (gx.size !== input.size) {
            throw new EngineError(
              node.name,
              `backward produced ${shapeStr(gx.shape)} for input ${shapeStr(input.shape)}`,
            );
          }
          const prev = grads.get(input);
          if (prev) {
            const sum = addGradients(engine, prev, gx);
            retain(sum);
            grads.set(input, sum);
            drop(prev);
            const once = gxs.indexOf(gx) === gxs.lastIndexOf(gx);
            if (once && gx !== gy && !refs.has(gx)) gx.release();
          } else {
            retain(gx);
            grads.set(input, gx);
          }
        });
        // This node's output gradient is consumed unless the caller asked to keep it.
        if (!retained.has(node.output)) {
          grads.delete(node.output);
          drop(gy);
        }
      }

      const result = new Map<Tensor, Tensor>();
      for (const [t, g] of grads) {
        if (!produced.has(t) && t.requiresGrad) {
          if (opts.accumulate && t.grad && !t.grad.released) {
            const sum = addGradients(engine, t.grad, g);
            t.grad.release();
            drop(g);
            t.grad = sum;
          } else {
            t.grad = g;
          }
          result.set(t, t.grad);
        } else if (retained.has(t)) {
          result.set(t, g);
        } else if (!outputs.has(t)) drop(g);
      }
      return result;
    });
  }
}

/**
 * Records an op onto the engine's active tape when any input requires grad; marks the output as
 * requiring grad in that case. Returns the output for chaining.
 */
export function record(name: string, inputs: Tensor[], output: Tensor, backward: BackwardFn): Tensor {
  const tape = output.engine.activeTape;
  if (tape && inputs.some((t) => t.requiresGrad)) {
    output.requiresGrad = true;
    tape.push({ name, inputs, output, backward });
  }
  return output;
}

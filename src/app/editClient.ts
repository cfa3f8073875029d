/**
 * The page's handle on the edit worker: typed `send` (transferring pixel buffers) and typed subscriptions to the
 * worker's events. All GPU work happens in the worker; the page only sends commands and draws what comes back.
 */
import {
  commandTransferables,
  type EditCommand,
  type EditEvent,
  type EditEventType,
  type EventOf,
} from '../worker/protocol';

type Listener = (event: EditEvent) => void;

/** What the store needs of a client (a fake in tests). */
export interface EditClientLike {
  send(command: EditCommand): void;
  /** Every event; returns the unsubscribe function. */
  subscribe(listener: Listener): () => void;
}

export class EditClient implements EditClientLike {
  private readonly worker: Worker;
  private readonly listeners = new Set<Listener>();
  private terminated = false;

  constructor(worker?: Worker) {
    this.worker =
      worker ??
      new Worker(new URL('../worker/editWorker.ts', import.meta.url), { type: 'module', name: 'text2live-edit' });
    this.worker.addEventListener('message', (ev: MessageEvent<EditEvent>) => this.dispatch(ev.data));
    this.worker.addEventListener('error', (ev: ErrorEvent) => {
      ev.preventDefault();
      this.dispatch({
        type: 'error',
        kind: 'internal',
        message: `The edit worker failed: ${ev.message || 'it could not be started'}`,
        recoverable: false,
      });
    });
    this.worker.addEventListener('messageerror', () =>
      this.dispatch({
        type: 'error',
        kind: 'internal',
        message: 'A worker message could not be read.',
        recoverable: true,
      }),
    );
  }

  /** Sends a command; pixel buffers and session bytes are transferred (the caller must not reuse them). */
  send(command: EditCommand): void {
    if (this.terminated) return;
    this.worker.postMessage(command, commandTransferables(command));
  }

  /** Every event; returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Events of one type. */
  on<T extends EditEventType>(type: T, listener: (event: EventOf<T>) => void): () => void {
    return this.subscribe((ev) => {
      if (ev.type === type) listener(ev as EventOf<T>);
    });
  }

  /** The first event matching `accept` (true) or `reject` (false). */
  waitFor(accept: (ev: EditEvent) => boolean, reject: (ev: EditEvent) => boolean = () => false): Promise<boolean> {
    return new Promise((resolve) => {
      const off = this.subscribe((ev) => {
        if (accept(ev)) {
          off();
          resolve(true);
        } else if (reject(ev)) {
          off();
          resolve(false);
        }
      });
    });
  }

  terminate(): void {
    this.terminated = true;
    this.worker.terminate();
    this.listeners.clear();
  }

  private dispatch(event: EditEvent): void {
    for (const l of [...this.listeners]) l(event);
  }
}

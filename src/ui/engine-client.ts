// Owns the engine's Web Worker: typed sends, request/response by requestId, and a subscription for the
// sweep's stream of messages (batched per animation frame so a fast GPU cannot flood React).
import type { FromEngine, ToEngine } from '../train/messages';

type Request = Extract<ToEngine, { requestId: number }>;
type WithoutId<T> = T extends { requestId: number } ? Omit<T, 'requestId'> : never;
export type EngineRequest = WithoutId<Request>;
/** Told on the way to an answer (a dataset parse's progress), never the answer itself. */
export type EngineProgress = Extract<FromEngine, { type: 'datasetProgress' }>;
export type EngineAnswer = Exclude<Extract<FromEngine, { requestId: number }>, EngineProgress>;

/** An engine answer that is an error, as an Error carrying the engine's detail. */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

export type Listener = (messages: FromEngine[]) => void;

export class EngineClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    {
      resolve: (m: EngineAnswer) => void;
      reject: (e: Error) => void;
      onProgress?: (m: EngineProgress) => void;
    }
  >();
  private readonly listeners = new Set<Listener>();
  private queue: FromEngine[] = [];
  private flushScheduled = false;

  constructor(worker?: Worker) {
    this.worker =
      worker ??
      new Worker(new URL('../train/worker.ts', import.meta.url), { type: 'module', name: 'engine' });
    this.worker.onmessage = (e: MessageEvent<FromEngine>) => this.receive(e.data);
    this.worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.receive({ type: 'error', message: e.message || 'The engine failed to start.' });
    };
  }

  send(msg: Exclude<ToEngine, Request>): void {
    this.worker.postMessage(msg);
  }

  /**
   * Sends a request and resolves with the answer that repeats its requestId (rejects on an error answer).
   * `onProgress` is told the progress messages that come before the answer.
   */
  request(
    msg: EngineRequest,
    transfer: Transferable[] = [],
    onProgress?: (m: EngineProgress) => void,
  ): Promise<EngineAnswer> {
    const requestId = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(requestId, { resolve, reject, onProgress });
      this.worker.postMessage({ ...msg, requestId }, transfer);
    });
  }

  /** Everything without a requestId, in arrival order, at most once per frame. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  terminate(): void {
    this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new EngineError('The engine was shut down.'));
    this.pending.clear();
  }

  private receive(msg: FromEngine): void {
    if (msg.type === 'datasetProgress') {
      // Progress of a request no longer pending (answered, or the client shut down) tells nothing.
      this.pending.get(msg.requestId)?.onProgress?.(msg);
      return;
    }
    if ('requestId' in msg && msg.requestId !== undefined) {
      const p = this.pending.get(msg.requestId);
      if (p) {
        this.pending.delete(msg.requestId);
        if (msg.type === 'error') p.reject(new EngineError(msg.message, msg.detail));
        else p.resolve(msg as EngineAnswer);
        return;
      }
    }
    this.queue.push(msg);
    // A hidden tab's timers are throttled (down to once a minute): deliver at once there, so results
    // and checkpoints still reach IndexedDB in time; a visible tab gets one batch per 50 ms.
    if (typeof document !== 'undefined' && document.hidden) {
      this.flush();
      return;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setTimeout(() => this.flush(), 50);
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    for (const l of this.listeners) l(batch);
  }
}

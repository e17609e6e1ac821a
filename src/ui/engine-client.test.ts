import { afterEach, describe, expect, it, vi } from 'vitest';
import { EngineClient, EngineError } from './engine-client';
import type { FromEngine, ToEngine } from '../train/messages';

class FakeWorker {
  sent: ToEngine[] = [];
  onmessage: ((e: MessageEvent<FromEngine>) => void) | null = null;
  onerror: ((e: ErrorEvent) => void) | null = null;
  postMessage(m: ToEngine) {
    this.sent.push(m);
  }
  terminate() {}
  reply(m: FromEngine) {
    this.onmessage?.({ data: m } as MessageEvent<FromEngine>);
  }
}

function client() {
  const w = new FakeWorker();
  return { w, c: new EngineClient(w as unknown as Worker) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('engine client', () => {
  it('matches answers to requests by requestId, and rejects on an error answer', async () => {
    const { w, c } = client();
    const a = c.request({ type: 'exportAdapter', from: { kind: 'run', runId: 'x' } });
    const b = c.request({ type: 'exportMerged', from: { kind: 'run', runId: 'x' } });
    const [ida, idb] = w.sent.map((m) => ('requestId' in m ? m.requestId : -1));
    expect(ida).not.toBe(idb);
    w.reply({ type: 'error', requestId: idb, message: 'no such run' });
    w.reply({
      type: 'exported',
      requestId: ida,
      fileName: 'a.zip',
      mime: 'application/zip',
      bytes: new Uint8Array(1),
    });
    await expect(a).resolves.toMatchObject({ type: 'exported', fileName: 'a.zip' });
    await expect(b).rejects.toBeInstanceOf(EngineError);
  });

  it('tells a request its progress before its answer; progress of no pending request is dropped', async () => {
    vi.useFakeTimers();
    const { w, c } = client();
    const batches: FromEngine[][] = [];
    c.subscribe((m) => batches.push(m));
    const fractions: number[] = [];
    const source = { kind: 'builtin' as const, name: 'devils-dictionary.txt' as const };
    const options = { skipBadLines: false, valFraction: 0.1 };
    const answer = c.request({ type: 'parseDataset', source, options }, [], (m) =>
      fractions.push(m.fraction),
    );
    const id = (w.sent[0] as { requestId: number }).requestId;
    const tokenizer = { kind: 'tokenizer.json' as const, model: 'gpt2' };
    const progress = (requestId: number, fraction: number): FromEngine => ({
      type: 'datasetProgress',
      requestId,
      fraction,
      phase: 'tokenizing',
      tokenizer,
    });
    w.reply(progress(id, 0.5));
    w.reply(progress(id + 100, 0.7));
    w.reply(progress(id, 1));
    const preview = { name: 'x' } as Extract<FromEngine, { type: 'dataset' }>['preview'];
    w.reply({ type: 'dataset', requestId: id, preview });
    w.reply(progress(id, 1));
    await expect(answer).resolves.toMatchObject({ type: 'dataset' });
    expect(fractions).toEqual([0.5, 1]);
    vi.advanceTimersByTime(60);
    expect(batches).toEqual([]);
  });

  it('hands the stream to subscribers in batches', () => {
    vi.useFakeTimers();
    const { w, c } = client();
    const batches: FromEngine[][] = [];
    c.subscribe((m) => batches.push(m));
    w.reply({ type: 'diverged', sweepId: 's', runId: 'r', step: 3 });
    w.reply({ type: 'diverged', sweepId: 's', runId: 'q', step: 4 });
    expect(batches).toHaveLength(0);
    vi.advanceTimersByTime(60);
    expect(batches).toHaveLength(1);
    expect(batches[0]).toHaveLength(2);
  });
});

// The engine Worker's lifetime in React: one client per page, the GPU's state, and the sweep's
// message stream handed to a callback in batches.
import { useEffect, useRef, useState } from 'react';
import type { FromEngine } from '../train/messages';
import type { SelfTestResult } from '../train/self-test';
import { EngineClient } from './engine-client';
import type { GpuState } from './components/GpuBadge';

export type SelfTestState =
  | { kind: 'idle' }
  | { kind: 'running' }
  | { kind: 'done'; result: SelfTestResult }
  | { kind: 'error'; text: string };

export function hasWebGpu(): boolean {
  return typeof navigator !== 'undefined' && 'gpu' in navigator && !!navigator.gpu;
}

export function useEngine(onMessages: (m: FromEngine[]) => void) {
  const [client, setClient] = useState<EngineClient | null>(null);
  const [gpu, setGpu] = useState<GpuState>(() =>
    hasWebGpu() ? { kind: 'waiting' } : { kind: 'missing', reason: 'navigator.gpu is missing' },
  );
  const [selfTest, setSelfTest] = useState<SelfTestState>({ kind: 'idle' });
  const handler = useRef(onMessages);
  handler.current = onMessages;

  useEffect(() => {
    if (!hasWebGpu()) return;
    const c = new EngineClient();
    setClient(c);
    const off = c.subscribe((batch) => {
      for (const m of batch) {
        if (m.type === 'ready') setGpu({ kind: 'ready', info: m.adapter });
        else if (m.type === 'selfTest') setSelfTest({ kind: 'done', result: m.result });
        else if (m.type === 'error' && m.sweepId === undefined) {
          setGpu((g) => (g.kind === 'waiting' ? { kind: 'missing', reason: m.message } : g));
          setSelfTest((t) => (t.kind === 'running' ? { kind: 'error', text: m.message } : t));
        }
      }
      handler.current(batch);
    });
    c.send({ type: 'hello' });
    return () => {
      off();
      c.terminate();
    };
  }, []);

  const runSelfTest = () => {
    setSelfTest({ kind: 'running' });
    client?.send({ type: 'selfTest' });
  };
  return { client, gpu, selfTest, runSelfTest };
}

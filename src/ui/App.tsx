import { useEffect, useRef, useState } from 'react';
import type { FromEngine, ToEngine } from '../train/messages';
import type { SelfTestResult } from '../train/self-test';

type GpuState = { kind: 'waiting' } | { kind: 'ready'; text: string } | { kind: 'error'; text: string };
type TestState =
  | { kind: 'idle' }
  | { kind: 'running' }
  | { kind: 'done'; result: SelfTestResult }
  | { kind: 'error'; text: string };

export function App() {
  const [gpu, setGpu] = useState<GpuState>({ kind: 'waiting' });
  const [test, setTest] = useState<TestState>({ kind: 'idle' });
  const worker = useRef<Worker | null>(null);
  useEffect(() => {
    const w = new Worker(new URL('../train/worker.ts', import.meta.url), { type: 'module' });
    worker.current = w;
    w.onmessage = (e: MessageEvent<FromEngine>) => {
      const msg = e.data;
      if (msg.type === 'ready') {
        const a = msg.adapter;
        setGpu({
          kind: 'ready',
          text:
            `${a.vendor} ${a.architecture} ${a.description}`.replace(/\s+/g, ' ').trim() || 'unnamed adapter',
        });
      } else if (msg.type === 'selfTest') setTest({ kind: 'done', result: msg.result });
      else if (msg.type === 'error') {
        setGpu((g) => (g.kind === 'waiting' ? { kind: 'error', text: msg.message } : g));
        setTest((t) => (t.kind === 'running' ? { kind: 'error', text: msg.message } : t));
      }
    };
    w.onerror = (e) => setGpu({ kind: 'error', text: e.message || 'the engine failed to start' });
    w.postMessage({ type: 'hello' } satisfies ToEngine);
    return () => w.terminate();
  }, []);
  const runSelfTest = () => {
    setTest({ kind: 'running' });
    worker.current?.postMessage({ type: 'selfTest' } satisfies ToEngine);
  };
  return (
    <main>
      <h1>LoRA Lab</h1>
      <p role="status" aria-label="GPU">
        {gpu.kind === 'waiting' && 'Looking for a WebGPU adapter…'}
        {gpu.kind === 'ready' && `WebGPU adapter: ${gpu.text}`}
        {gpu.kind === 'error' && `WebGPU not available: ${gpu.text}`}
      </p>
      <button type="button" onClick={runSelfTest} disabled={gpu.kind !== 'ready' || test.kind === 'running'}>
        Run engine self-test
      </button>
      <p role="status" aria-label="Self-test">
        {test.kind === 'running' && 'Training a tiny model for 3 steps on this GPU…'}
        {test.kind === 'done' &&
          `${test.result.passed ? 'Passed' : 'FAILED'}: step-1 loss ${test.result.gpuLosses.map((l) => l.toFixed(6)).join(', ')} on the GPU, ${test.result.referenceLoss.toFixed(6)} in float64 (${test.result.seconds.toFixed(1)} s)`}
        {test.kind === 'error' && `Self-test error: ${test.text}`}
      </p>
    </main>
  );
}

import { useEffect, useState } from 'react';
import type { FromEngine } from '../train/messages';

type GpuState = { kind: 'waiting' } | { kind: 'ready'; text: string } | { kind: 'error'; text: string };

export function App() {
  const [gpu, setGpu] = useState<GpuState>({ kind: 'waiting' });
  useEffect(() => {
    const worker = new Worker(new URL('../train/worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (e: MessageEvent<FromEngine>) => {
      const msg = e.data;
      if (msg.type === 'ready') {
        const a = msg.adapter;
        setGpu({
          kind: 'ready',
          text:
            `${a.vendor} ${a.architecture} ${a.description}`.replace(/\s+/g, ' ').trim() || 'unnamed adapter',
        });
      } else if (msg.type === 'error') setGpu({ kind: 'error', text: msg.message });
    };
    worker.onerror = (e) => setGpu({ kind: 'error', text: e.message || 'the engine failed to start' });
    worker.postMessage({ type: 'hello' });
    return () => worker.terminate();
  }, []);
  return (
    <main>
      <h1>LoRA Lab</h1>
      <p role="status" aria-label="GPU">
        {gpu.kind === 'waiting' && 'Looking for a WebGPU adapter…'}
        {gpu.kind === 'ready' && `WebGPU adapter: ${gpu.text}`}
        {gpu.kind === 'error' && `WebGPU not available: ${gpu.text}`}
      </p>
    </main>
  );
}

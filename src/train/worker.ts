// The engine's Web Worker entry: the only place in the page that touches the GPU.
import { Gpu } from '../gpu/context';
import type { FromEngine, ToEngine } from './messages';

let gpu: Gpu | undefined;

function post(msg: FromEngine): void {
  (self as unknown as Worker).postMessage(msg);
}

self.onmessage = async (e: MessageEvent<ToEngine>) => {
  if (e.data.type === 'hello') {
    try {
      gpu ??= await Gpu.create();
      post({ type: 'ready', adapter: gpu.info });
    } catch (err) {
      post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  }
};

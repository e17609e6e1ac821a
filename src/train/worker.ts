// The engine's Web Worker entry: the only place in the page that touches the GPU.
import { Gpu } from '../gpu/context';
import type { FromEngine, ToEngine } from './messages';
import { engineSelfTest } from './self-test';

let gpu: Promise<Gpu> | undefined;

function post(msg: FromEngine): void {
  (self as unknown as Worker).postMessage(msg);
}

self.onmessage = async (e: MessageEvent<ToEngine>) => {
  try {
    gpu ??= Gpu.create();
    const device = await gpu;
    if (e.data.type === 'hello') post({ type: 'ready', adapter: device.info });
    else if (e.data.type === 'selfTest') post({ type: 'selfTest', result: await engineSelfTest(device) });
  } catch (err) {
    post({
      type: 'error',
      message: err instanceof Error ? err.message : String(err),
      detail: err instanceof Error ? err.stack : undefined,
    });
  }
};

// onnxruntime-web in the page's Worker, loaded only from our own origin (the page's CSP allows no other):
// its WebAssembly binary is emitted by Vite as one of our assets, and ORT is told where it is.
//
// The `onnxruntime-web` import resolves to ort.bundle.min.mjs in the browser build: the Emscripten
// glue (.mjs) is inside the bundle and the only file it fetches is ort-wasm-simd-threaded.jsep.wasm.
// One thread and no proxy worker: no extra Worker scripts, no SharedArrayBuffer (so no need for
// cross-origin isolation headers), and the same results on every machine.
import * as ort from 'onnxruntime-web';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url';

export function configureOrtForPage(): void {
  ort.env.wasm.wasmPaths = { wasm: new URL(ortWasmUrl, self.location.href).href };
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
}

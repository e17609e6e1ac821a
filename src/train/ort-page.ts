// onnxruntime-web in the page's Worker, loaded only from our own origin (the page's CSP allows no other):
// its WebAssembly binary is emitted by Vite as one of our assets, and ORT is told where it is.
//
// `onnxruntime-web/wasm` is ORT's CPU-only build (the `wasm` execution provider, all the page uses): it
// resolves to ort.wasm.bundle.min.mjs in the browser build, the Emscripten glue (.mjs) is inside the
// bundle, and the only file it fetches is ort-wasm-simd-threaded.wasm, about half the size of the
// WebGPU/WebNN build's ort-wasm-simd-threaded.jsep.wasm. src/io/generate.ts imports the same entry, so
// the Worker holds one ORT and this configures the one that generates.
// One thread and no proxy worker: no extra Worker scripts, no SharedArrayBuffer (so no need for
// cross-origin isolation headers), and the same results on every machine.
import * as ort from 'onnxruntime-web/wasm';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';

export function configureOrtForPage(): void {
  ort.env.wasm.wasmPaths = { wasm: new URL(ortWasmUrl, self.location.href).href };
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
}

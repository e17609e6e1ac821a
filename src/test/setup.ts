// Runs before every test file (vite.config.ts setupFiles). The files of a worker share one process and its
// modules (isolate: false, so that SwiftShader compiles a pipeline once per worker rather than once per file):
// undo what an earlier file did to process-wide test state.
import { resetTestGpu } from './gpu';

resetTestGpu();

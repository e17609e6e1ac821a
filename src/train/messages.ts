// Typed messages between the page and the engine in its Web Worker (a discriminated union each way).
import type { GpuInfo } from '../gpu/device';

export type ToEngine = { type: 'hello' };

export type FromEngine =
  { type: 'ready'; adapter: GpuInfo } | { type: 'error'; message: string; detail?: string };

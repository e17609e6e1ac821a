// Typed messages between the page and the engine in its Web Worker (a discriminated union each way).
import type { GpuInfo } from '../gpu/device';
import type { SelfTestResult } from './self-test';

export type ToEngine = { type: 'hello' } | { type: 'selfTest' };

export type FromEngine =
  | { type: 'ready'; adapter: GpuInfo }
  | { type: 'selfTest'; result: SelfTestResult }
  | { type: 'error'; message: string; detail?: string };

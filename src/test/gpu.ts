// The shared test device (Dawn in Node; SwiftShader on machines without a GPU) and a one-shot runner.
import { Gpu } from '../gpu/context';
import type { Kernel } from '../gpu/kernel';

let shared: Promise<Gpu> | undefined;
/** The resolved `shared`, to see whether its device was lost. */
let sharedGpu: Gpu | undefined;
/** Gpu.create as the product has it (shareTestDevice replaces it for the rest of a test file). */
const realCreate = Gpu.create.bind(Gpu);

/**
 * One device per test worker process, kept for the life of the process (its compiled pipelines shared by
 * the files the worker runs: vitest's `isolate: false`); a new one if a test destroyed or lost it.
 */
export function testGpu(): Promise<Gpu> {
  if (sharedGpu?.lostReason !== undefined) {
    shared = undefined;
    sharedGpu = undefined;
  }
  shared ??= realCreate().then((gpu) => (sharedGpu = gpu));
  return shared;
}

/**
 * Before each test file (src/test/setup.ts): Gpu.create as the product has it again, whatever an earlier file
 * of the same worker made of it (shareTestDevice), so that a file's own devices are its own.
 */
export function resetTestGpu(): void {
  Gpu.create = realCreate;
}

/**
 * For a test file of whole CLI commands: from now on in this process, Gpu.create() gives a new Gpu over the
 * shared test device (its pipelines compiled once for the file, not once per command), whose destroy()
 * leaves the device open. Tests of a lost or failing device make their own (acquireDevice).
 */
export function shareTestDevice(): void {
  Gpu.create = async () => {
    const { device, info } = await testGpu();
    const gpu = new Gpu({ device, info });
    // The device outlives the command: its Gpu only stops listening to it.
    gpu.destroy = () => gpu.detach();
    return gpu;
  };
}

export type Input = Float32Array | Uint32Array | Int32Array | number;

/**
 * Run one kernel once. Each binding gets the given typed array (uploaded) or, for a number, a zeroed
 * buffer of that many 4-byte elements. Returns every 'write' binding read back as Float32Array
 * (reinterpret with `new Uint32Array(x.buffer)` for u32 outputs).
 */
export async function runOnce<B extends string, P extends string>(
  kernel: Kernel<B, P>,
  inputs: Record<B, Input>,
  params: Record<P, number>,
  constants: Record<string, number> = {},
): Promise<Record<B, Float32Array>> {
  const gpu = await testGpu();
  const buffers = {} as Record<B, GPUBuffer>;
  const sizes = {} as Record<B, number>;
  for (const name of kernel.bindingNames) {
    const v = inputs[name];
    if (v === undefined) throw new Error(`runOnce(${kernel.label}): no input for binding ${name}`);
    buffers[name] = gpu.buffer(typeof v === 'number' ? v * 4 : v, `${kernel.label}.${name}`);
    sizes[name] = typeof v === 'number' ? v : v.length;
  }
  const d = gpu.prepare(kernel, buffers, params, constants);
  await gpu.run(kernel.label, [d]);
  const out = {} as Record<B, Float32Array>;
  for (const name of kernel.bindingNames) {
    if (kernel.bindings[name] === 'write') out[name] = await gpu.readF32(buffers[name], sizes[name]);
  }
  for (const name of kernel.bindingNames) buffers[name].destroy();
  return out;
}

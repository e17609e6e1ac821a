import { describe, expect, it } from 'vitest';
import { defineKernel } from './kernel';
import { GpuError } from './errors';
import { testGpu } from '../test/gpu';

const broken = defineKernel({
  label: 'brokenKernel',
  source: `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
struct Params { n: u32 }
@group(0) @binding(1) var<uniform> params: Params;
@compute @workgroup_size(1) fn main() { out[0] = undefined_name; }`,
  bindings: { out: 'write' },
  params: { n: 'u32' },
  workgroups: () => [1, 1, 1],
});

describe('Gpu runtime', () => {
  it('reports the adapter, its features and limits', async () => {
    const gpu = await testGpu();
    expect(gpu.info.runtime).toBe('node');
    expect(gpu.info.limits.maxStorageBuffersPerShaderStage).toBeGreaterThanOrEqual(8);
    expect(Array.isArray(gpu.info.features)).toBe(true);
  });

  it('a shader error surfaces as a GpuError naming the kernel', async () => {
    const gpu = await testGpu();
    const out = gpu.buffer(16, 'out');
    let caught: unknown;
    try {
      const d = gpu.prepare(broken, { out }, { n: 1 });
      await gpu.run('broken step', [d]);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(GpuError);
    expect(String((caught as Error).message)).toMatch(/brokenKernel/);
    // The device is still usable afterwards.
    expect(Array.from(await gpu.readF32(out, 4))).toEqual([0, 0, 0, 0]);
  });

  it('a missing binding or a bad parameter is refused before anything is encoded', async () => {
    const gpu = await testGpu();
    const k = defineKernel({ ...broken, label: 'k2' });
    expect(() => gpu.prepare(k, {} as { out: GPUBuffer }, { n: 1 })).toThrow(
      /\[k2\] binding out has no buffer/,
    );
    expect(() => gpu.prepare(k, { out: gpu.buffer(16) }, { n: -1 })).toThrow(/not a u32/);
  });
});

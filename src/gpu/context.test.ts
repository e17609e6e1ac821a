import { describe, expect, it } from 'vitest';
import { Gpu } from './context';
import { PlanningGpu } from './planning';
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

const fill = defineKernel({
  label: 'fillKernel',
  source: `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
struct Params { n: u32, v: f32 }
@group(0) @binding(1) var<uniform> params: Params;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x < params.n) { out[g.x] = params.v + f32(g.x); }
}`,
  bindings: { out: 'write' },
  params: { n: 'u32', v: 'f32' },
  workgroups: ({ n }) => [Math.ceil(n / 64), 1, 1],
});

describe('Gpu runtime', () => {
  it('a Gpu over a device that outlives it stops listening to the device when detached; a plan never listens', async () => {
    const shared = await testGpu();
    // The device as the Gpu sees it, counting the uncapturederror listeners it holds.
    const held = new Set<unknown>();
    const device = new Proxy(shared.device, {
      get(target, prop) {
        if (prop === 'addEventListener')
          return (type: string, fn: EventListener) => {
            if (type === 'uncapturederror') held.add(fn);
            target.addEventListener(type, fn);
          };
        if (prop === 'removeEventListener')
          return (type: string, fn: EventListener) => {
            if (type === 'uncapturederror') held.delete(fn);
            target.removeEventListener(type, fn);
          };
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const g = new Gpu({ device, info: shared.info });
    expect(held.size).toBe(1);
    g.detach();
    expect(held.size).toBe(0);
    // A plan over the device never listens (every sweep's plan would otherwise stay referenced by the device).
    new PlanningGpu({ device, info: shared.info });
    expect(held.size).toBe(0);
  });

  it('readManyF32 reads several ranges of several buffers in one go', async () => {
    const gpu = await testGpu();
    const a = gpu.buffer(new Float32Array([1, 2, 3, 4, 5]), 'a');
    const b = gpu.buffer(new Float32Array([10, 20, 30]), 'b');
    const [x, y, z, e] = await gpu.readManyF32([
      { src: a, count: 5 },
      { src: b, count: 2, offset: 1 },
      { src: a, count: 1, offset: 4 },
      { src: b, count: 0 },
    ]);
    expect(Array.from(x)).toEqual([1, 2, 3, 4, 5]);
    expect(Array.from(y)).toEqual([20, 30]);
    expect(Array.from(z)).toEqual([5]);
    expect(e).toHaveLength(0);
  });

  it('collect keeps each submit’s result apart, in queue order with the writes between them', async () => {
    const gpu = await testGpu();
    const out = gpu.buffer(3 * 4, 'out');
    const d = gpu.prepare(fill, { out }, { n: 3, v: 0 });
    const got = await gpu.collect('collect test', 4, out, 3 * 4, (k) => {
      if (k === 2) return null; // skipped: its slot comes back null
      d.setParams({ v: 100 * (k + 1) }); // a queued write, between the previous submit and this one
      return [d];
    });
    expect(got.map((r) => (r ? Array.from(r) : null))).toEqual([
      [100, 101, 102],
      [200, 201, 202],
      null,
      [400, 401, 402],
    ]);
  });

  it('reports the adapter, its features and limits', async () => {
    const gpu = await testGpu();
    expect(gpu.info.runtime).toBe('node');
    // Under Node waits sleep through the queued steps first (dawn.node polls while a promise is pending).
    expect(gpu.patientWaits).toBe(true);
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

  it.each([
    ['submit', /\[step 2\]/],
    ['window', /\[step 1 … step 3\]/],
  ] as const)(
    'error scopes per %s: a bad submission throws at the next sync, named, and the next window is clean',
    async (mode, named) => {
      const gpu = await testGpu();
      const out = gpu.buffer(64 * 4, 'out');
      const gone = gpu.buffer(64 * 4, 'gone');
      const good = gpu.prepare(fill, { out }, { n: 64, v: 1 });
      const bad = gpu.prepare(fill, { out: gone }, { n: 64, v: 2 });
      gone.destroy(); // submitting a dispatch that binds it is a validation error
      gpu.errorScopes = mode;
      try {
        gpu.submit('step 1', [good]);
        gpu.submit('step 2', [bad]);
        gpu.submit('step 3', [good]);
        let caught: unknown;
        await gpu.sync('after').catch((e: unknown) => (caught = e));
        expect(caught).toBeInstanceOf(GpuError);
        expect(String((caught as Error).message)).toMatch(named);
        gpu.submit('step 4', [good]);
        await gpu.sync('clean');
        expect((await gpu.readF32(out, 2)).join()).toBe('1,2');
      } finally {
        gpu.errorScopes = 'window';
        out.destroy();
      }
    },
  );

  it('a missing binding or a bad parameter is refused before anything is encoded', async () => {
    const gpu = await testGpu();
    const k = defineKernel({ ...broken, label: 'k2' });
    expect(() => gpu.prepare(k, {} as { out: GPUBuffer }, { n: 1 })).toThrow(
      /\[k2\] binding out has no buffer/,
    );
    expect(() => gpu.prepare(k, { out: gpu.buffer(16) }, { n: -1 })).toThrow(/not a u32/);
  });

  it('a param named in a kernel’s paramConstants reaches the shader as its override, and stays fixed', async () => {
    const gpu = await testGpu();
    const k = defineKernel({
      label: 'fixedCount',
      source: `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
struct Params { n: u32, v: f32 }
@group(0) @binding(1) var<uniform> params: Params;
override COUNT: u32 = 1u;
@compute @workgroup_size(1) fn main() {
  var t = 0.0;
  for (var i = 0u; i < COUNT; i++) { t += params.v; }
  out[0] = t;
  out[1] = f32(params.n);
}`,
      bindings: { out: 'write' },
      params: { n: 'u32', v: 'f32' },
      paramConstants: { n: 'COUNT' },
      workgroups: () => [1, 1, 1],
    });
    const out = gpu.buffer(8);
    const d = gpu.prepare(k, { out }, { n: 3, v: 0.5 });
    await gpu.run('fixed', [d]);
    expect(Array.from(await gpu.readF32(out, 2))).toEqual([1.5, 3]);
    d.setParams({ v: 2 });
    d.setParams({ n: 3 });
    await gpu.run('fixed', [d]);
    expect(Array.from(await gpu.readF32(out, 2))).toEqual([6, 3]);
    expect(() => d.setParams({ n: 4 })).toThrow(/fixed when prepared/);
    out.destroy();
  });
});

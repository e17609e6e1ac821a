// A kernel is one small object: its WGSL, its bindings, its uniform parameters and a function from
// parameters to dispatch size. Host code does not edit WGSL beyond named override constants, with one
// exception a kernel declares itself: `specialize`, for what overrides cannot express.

export type BindingKind = 'read' | 'write' | 'uniform';
export type ScalarType = 'u32' | 'i32' | 'f32';

export interface KernelSpec<B extends string, P extends string> {
  label: string;
  source: string;
  /** Storage bindings in @binding order (0, 1, ...). The uniform params struct comes after them. */
  bindings: Record<B, Exclude<BindingKind, 'uniform'>>;
  /** Fields of the WGSL `Params` uniform struct, in declaration order; all 4-byte scalars. */
  params: Record<P, ScalarType>;
  /** Name of the WGSL entry point (default "main"). */
  entryPoint?: string;
  /** Dispatch size from the parameter values (and override constants, when the kernel has them). */
  workgroups: (p: Record<NoInfer<P>, number>, constants: Record<string, number>) => [number, number, number];
  /** Default values for WGSL `override` constants (e.g. tile sizes). */
  constants?: Record<string, number>;
  /**
   * The WGSL for one set of override constants, where `source` alone cannot say it: WGSL has no unroll
   * attribute, so the wide matmuls repeat their multiply's k loop (UNROLL copies, src/kernels/matmul.ts). Must
   * return a shader that computes what `source` computes with those constants; default: `source`.
   */
  specialize?: (constants: Record<string, number>) => string;
  /**
   * Constants only `specialize` reads (how far to unroll): part of a pipeline's cache key, not passed to
   * WebGPU as overrides (the WGSL declares no such override).
   */
  hostConstants?: readonly string[];
  /**
   * Params whose value is also passed, at prepare time, as the named override constant (param → override):
   * a loop over it then compiles with a known count (the split-K sums' S, bench/RESULTS.md 2026-12-01). Such a
   * param is fixed for the dispatch: setParams refuses to change it.
   */
  paramConstants?: Partial<Record<P, string>>;
}

export interface Kernel<B extends string, P extends string> extends KernelSpec<B, P> {
  readonly bindingNames: B[];
  readonly paramNames: P[];
  /** Bytes of the uniform buffer (params padded to 16). */
  readonly paramBytes: number;
}

export function defineKernel<B extends string, P extends string>(spec: KernelSpec<B, P>): Kernel<B, P> {
  const paramNames = Object.keys(spec.params) as P[];
  return {
    ...spec,
    bindingNames: Object.keys(spec.bindings) as B[],
    paramNames,
    paramBytes: Math.max(16, Math.ceil((paramNames.length * 4) / 16) * 16),
  };
}

/** Pack params into the bytes of the uniform struct. */
export function packParams<P extends string>(
  kernel: Kernel<string, P>,
  values: Record<P, number>,
): ArrayBuffer {
  const buf = new ArrayBuffer(kernel.paramBytes);
  const view = new DataView(buf);
  kernel.paramNames.forEach((name, i) => {
    const v = values[name];
    if (v === undefined || (Number.isNaN(v) && kernel.params[name] !== 'f32')) {
      throw new Error(`kernel ${kernel.label}: parameter ${name} is missing`);
    }
    const t = kernel.params[name];
    if (t === 'f32') view.setFloat32(i * 4, v, true);
    else if (t === 'i32') view.setInt32(i * 4, v, true);
    else {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
        throw new Error(`kernel ${kernel.label}: ${name}=${v} is not a u32`);
      view.setUint32(i * 4, v, true);
    }
  });
  return buf;
}

/** WebGPU's guaranteed maxComputeWorkgroupsPerDimension. */
export const MAX_WORKGROUPS_PER_DIMENSION = 65535;

/**
 * `groups` workgroups as an [x, y, 1] grid folded into y past 65535; shaders recover the index as
 * wid.x + wid.y · 65535 (or · num_workgroups.x, the same whenever y > 1).
 */
export function foldedGrid(groups: number): [number, number, number] {
  const x = Math.min(groups, MAX_WORKGROUPS_PER_DIMENSION);
  return [x, Math.ceil(groups / MAX_WORKGROUPS_PER_DIMENSION), 1];
}

/** One thread per element: ceil(n / wg) workgroups, folded. */
export function grid1d(n: number, wg: number): [number, number, number] {
  return foldedGrid(Math.ceil(n / wg));
}

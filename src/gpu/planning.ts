// A dry run of allocation: a Gpu whose buffers and dispatches are only recorded. Building a sweep on it
// runs the engine's own allocation code, so the bytes it adds up are what the real sweep would take,
// and the device limits a real build would hit are collected instead of thrown.
import { bufferSize, Gpu, type Dispatch } from './context';
import type { GpuInfo } from './device';
import type { Kernel } from './kernel';

export interface Allocation {
  label: string;
  bytes: number;
}

/** A buffer over a binding or size limit of the device. */
export interface OverLimit extends Allocation {
  limit: 'maxStorageBufferBindingSize' | 'maxBufferSize';
  max: number;
}

/** The limits a plan checks (the rest of a device's limits take WebGPU's defaults in `forLimits`). */
export type PlanningLimits = Pick<
  GPUSupportedLimits,
  'maxStorageBufferBindingSize' | 'maxBufferSize' | 'maxComputeWorkgroupsPerDimension'
> &
  Partial<GPUSupportedLimits>;

export class PlanningGpu extends Gpu {
  readonly allocations: Allocation[] = [];
  /** Limits a real build would exceed, one line each. */
  readonly problems: string[] = [];
  /** The buffers among them over a size limit. */
  readonly overLimit: OverLimit[] = [];

  /**
   * Plans against the limits of a real device (nothing is allocated on it, nothing submitted: it does not
   * listen to the device, which so keeps no reference to a plan).
   */
  constructor(real: Pick<Gpu, 'device' | 'info'>) {
    super({ device: real.device, info: real.info }, { listen: false });
  }

  /**
   * Plans against given limits with no device at all (arithmetic: what a sweep would take on a GPU with
   * these limits). Kernels are not compiled, buffers not created.
   */
  static forLimits(limits: PlanningLimits): PlanningGpu {
    const all = { maxComputeWorkgroupStorageSize: 32768, ...limits } as GPUSupportedLimits;
    const device = {
      limits: all,
      features: new Set<string>(),
      addEventListener() {},
      lost: new Promise(() => {}),
    } as unknown as GPUDevice;
    const info: GpuInfo = {
      vendor: 'planning',
      architecture: '',
      description: 'limits only',
      isSoftware: false,
      features: [],
      limits: { ...limits } as unknown as Record<string, number>,
      runtime: 'node',
    };
    return new PlanningGpu({ device, info });
  }

  get totalBytes(): number {
    return this.allocations.reduce((acc, a) => acc + a.bytes, 0);
  }

  get largest(): Allocation | undefined {
    return this.allocations.reduce<Allocation | undefined>(
      (m, a) => (m && m.bytes >= a.bytes ? m : a),
      undefined,
    );
  }

  override buffer(data: ArrayBufferView | number, label = 'buffer'): GPUBuffer {
    const bytes = bufferSize(data);
    this.allocations.push({ label, bytes });
    const { maxBufferSize, maxStorageBufferBindingSize } = this.device.limits;
    const max = Math.min(maxBufferSize, maxStorageBufferBindingSize);
    if (bytes > max) {
      const limit = bytes > maxBufferSize ? 'maxBufferSize' : 'maxStorageBufferBindingSize';
      this.overLimit.push({ label, bytes, limit, max });
      this.problems.push(
        `buffer ${label} needs ${formatBytes(bytes)}, over the device's ${limit} of ${formatBytes(max)}`,
      );
    }
    return { label, size: bytes, destroy() {} } as unknown as GPUBuffer;
  }

  override write(): void {}

  override prepare<B extends string, P extends string>(
    kernel: Kernel<B, P>,
    _buffers: Record<B, GPUBuffer>,
    params: Record<P, number>,
    constants: Record<string, number> = {},
  ): Dispatch<P> {
    const workgroups = kernel.workgroups(params, { ...kernel.constants, ...constants });
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (workgroups.some((w) => w > max))
      this.problems.push(
        `kernel ${kernel.label} needs ${workgroups.join('×')} workgroups, over maxComputeWorkgroupsPerDimension ${max}`,
      );
    this.allocations.push({ label: `${kernel.label}.params`, bytes: bufferSize(kernel.paramBytes) });
    return { label: kernel.label, workgroups, encode() {}, setParams() {} };
  }
}

/** 1.50 GiB, 12.00 KiB, 16 bytes. */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${v.toFixed(2)} ${units[i]}`;
}

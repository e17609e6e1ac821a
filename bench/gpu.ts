// The benchmark's GPU: the engine's Gpu, acquired with Dawn's timestamp quantization off, that also
// remembers what every prepared dispatch binds (for FLOP and byte counts) and can capture or time the
// dispatch lists the engine submits. Everything here sits on the engine's public API.
import { Gpu, type Dispatch } from '../src/gpu/context';
import type { QueuedWork } from '../src/gpu/queue-clock';
import { acquireDevice, type AcquiredDevice } from '../src/gpu/device';
import type { Kernel } from '../src/gpu/kernel';

/** What a dispatch was prepared with: enough to count its FLOPs and the bytes it must move. */
export interface DispatchMeta {
  kernel: string;
  buffers: Record<string, GPUBuffer>;
  bindings: Record<string, 'read' | 'write'>;
  params: Record<string, number>;
  constants: Record<string, number>;
}

/**
 * A device as src/gpu/device.ts acquires it, from a Dawn instance created with timestamp quantization
 * disabled: by default Dawn rounds timestamps to 2^16 ns, which would swamp the ~10 µs dispatches we time.
 * Falls back to a plain instance if the flag is refused.
 */
async function acquireBenchDevice(): Promise<AcquiredDevice & { quantizationOff: boolean }> {
  try {
    return {
      ...(await acquireDevice('high-performance', ['disable-dawn-features=timestamp_quantization'])),
      quantizationOff: true,
    };
  } catch {
    return { ...(await acquireDevice('high-performance')), quantizationOff: false };
  }
}

type SubmitMode =
  | { kind: 'normal' }
  | { kind: 'capture'; lists: Dispatch[][] }
  | { kind: 'stamp'; querySet: GPUQuerySet; next: number; capacity: number };

export class BenchGpu extends Gpu {
  private meta = new WeakMap<Dispatch, DispatchMeta>();
  private small = new WeakMap<GPUBuffer, Uint32Array>();
  private mode: SubmitMode = { kind: 'normal' };
  quantizationOff = false;
  /** Of the last stopStamping(): ns from the first stamped pass's beginning to the last one's end. */
  lastStampSpanNs = NaN;

  static async acquire(): Promise<BenchGpu> {
    const acquired = await acquireBenchDevice();
    const gpu = new BenchGpu(acquired);
    gpu.quantizationOff = acquired.quantizationOff;
    return gpu;
  }

  override prepare<B extends string, P extends string>(
    kernel: Kernel<B, P>,
    buffers: Record<B, GPUBuffer>,
    params: Record<P, number>,
    constants: Record<string, number> = {},
  ): Dispatch<P> {
    const d = super.prepare(kernel, buffers, params, constants);
    const values: Record<string, number> = { ...params };
    const setParams = d.setParams.bind(d);
    const wrapped: Dispatch<P> = {
      label: d.label,
      workgroups: d.workgroups,
      encode: (pass) => d.encode(pass),
      setParams: (update) => {
        Object.assign(values, update);
        setParams(update);
      },
    };
    this.meta.set(wrapped, {
      kernel: kernel.label,
      buffers: { ...buffers },
      bindings: kernel.bindings,
      params: values,
      constants: { ...kernel.constants, ...constants },
    });
    return wrapped;
  }

  /** Small buffers made from data (job tables) keep a copy, so costs can read their sizes. */
  override buffer(data: ArrayBufferView | number, label = 'buffer'): GPUBuffer {
    const buf = super.buffer(data, label);
    if (typeof data !== 'number' && data.byteLength <= 1 << 16 && data.byteLength % 4 === 0) {
      this.small.set(
        buf,
        new Uint32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
      );
    }
    return buf;
  }

  initialU32(buf: GPUBuffer): Uint32Array | undefined {
    return this.small.get(buf);
  }

  metaOf(d: Dispatch): DispatchMeta | undefined {
    return this.meta.get(d);
  }

  /** Run `fn`, recording (not submitting) every dispatch list it submits. */
  capture(fn: () => void): Dispatch[][] {
    const lists: Dispatch[][] = [];
    this.mode = { kind: 'capture', lists };
    try {
      fn();
    } finally {
      this.mode = { kind: 'normal' };
    }
    return lists;
  }

  /** From now on every submit() gets begin/end timestamps, until stopStamping(); needs 'timestamp-query'. */
  startStamping(capacity: number): void {
    const querySet = this.device.createQuerySet({ type: 'timestamp', count: 2 * capacity });
    this.mode = { kind: 'stamp', querySet, next: 0, capacity };
  }

  /** GPU nanoseconds of each stamped submit, in order. */
  async stopStamping(): Promise<number[]> {
    const mode = this.mode;
    this.mode = { kind: 'normal' };
    if (mode.kind !== 'stamp') return [];
    const raw = await resolveTimestampsRaw(this, mode.querySet, mode.next);
    mode.querySet.destroy();
    this.lastStampSpanNs = raw.length ? Number(raw[raw.length - 1] - raw[0]) : NaN;
    return pairDurations(raw);
  }

  override submit(
    label: string,
    dispatches: readonly Dispatch[],
    timestamps?: GPUComputePassTimestampWrites,
    work?: QueuedWork,
  ): void {
    const mode = this.mode;
    if (mode.kind === 'capture') {
      mode.lists.push([...dispatches]);
      return;
    }
    if (mode.kind === 'stamp' && !timestamps && mode.next < mode.capacity) {
      const i = mode.next++;
      super.submit(
        label,
        dispatches,
        {
          querySet: mode.querySet,
          beginningOfPassWriteIndex: 2 * i,
          endOfPassWriteIndex: 2 * i + 1,
        },
        work,
      );
      return;
    }
    super.submit(label, dispatches, timestamps, work);
  }
}

const QUERY_RESOLVE = 0x0200;
const COPY_SRC = 0x0004;
const COPY_DST = 0x0008;
const MAP_READ = 0x0001;

/** end − begin in ns for `pairs` begin/end pairs of a timestamp query set. */
export async function resolveTimestamps(gpu: Gpu, querySet: GPUQuerySet, pairs: number): Promise<number[]> {
  return pairDurations(await resolveTimestampsRaw(gpu, querySet, pairs));
}

function pairDurations(t: BigUint64Array): number[] {
  const out: number[] = [];
  for (let i = 0; 2 * i + 1 < t.length; i++) out.push(Number(t[2 * i + 1] - t[2 * i]));
  return out;
}

/** The raw timestamps (ns, begin and end of each pair) of `pairs` pairs of a query set. */
async function resolveTimestampsRaw(gpu: Gpu, querySet: GPUQuerySet, pairs: number): Promise<BigUint64Array> {
  if (pairs === 0) return new BigUint64Array(0);
  const bytes = pairs * 2 * 8;
  const resolve = gpu.device.createBuffer({ size: bytes, usage: QUERY_RESOLVE | COPY_SRC });
  const read = gpu.device.createBuffer({ size: bytes, usage: MAP_READ | COPY_DST });
  gpu.submitEncoded('resolve timestamps', (enc) => {
    enc.resolveQuerySet(querySet, 0, pairs * 2, resolve, 0);
    enc.copyBufferToBuffer(resolve, 0, read, 0, bytes);
  });
  await gpu.sync('resolve timestamps');
  await read.mapAsync(MAP_READ);
  const t = new BigUint64Array(read.getMappedRange().slice(0));
  read.unmap();
  read.destroy();
  resolve.destroy();
  return t;
}

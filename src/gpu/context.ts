// The GPU runtime above the device: buffers, cached pipelines, prepared dispatches, error scopes,
// readback and timing. Everything a training step needs is prepared once and replayed.
import { acquireDevice, isNode, type AcquiredDevice, type GpuInfo } from './device';
import { GpuError } from './errors';
import { packParams, type Kernel } from './kernel';
import { QueueClock, type QueuedWork } from './queue-clock';

/** One kernel bound to its buffers: encode it into any compute pass, as often as needed. */
export interface Dispatch<P extends string = string> {
  readonly label: string;
  readonly workgroups: [number, number, number];
  encode(pass: GPUComputePassEncoder): void;
  /** Update (some of) the uniform parameters; takes effect at the next queue submission. */
  setParams(values: Partial<Record<P, number>>): void;
}

const STORAGE_USAGE = GPUBufferUsageFlags();

function GPUBufferUsageFlags(): number {
  // GPUBufferUsage is a global in browsers and after `webgpu` globals are installed in Node; the numeric
  // values are fixed by the spec, so use them directly to avoid depending on the global at import time.
  const STORAGE = 0x0080,
    COPY_SRC = 0x0004,
    COPY_DST = 0x0008;
  return STORAGE | COPY_SRC | COPY_DST;
}
const UNIFORM_USAGE = 0x0040 | 0x0008;
const MAP_READ_USAGE = 0x0001 | 0x0008;

/** Bytes `Gpu.buffer` allocates for this data or size: rounded up to 4, at least 16. */
export function bufferSize(data: ArrayBufferView | number): number {
  const bytes = typeof data === 'number' ? data : data.byteLength;
  return Math.max(16, Math.ceil(bytes / 4) * 4);
}

/** The error scopes around submitted work (submitEncoded): every kind of GPU error. */
const ERROR_FILTERS: GPUErrorFilter[] = ['validation', 'out-of-memory', 'internal'];

/**
 * Compiled pipelines and bind group layouts by device: every Gpu over one device shares them (the tests wrap
 * one device in a Gpu per CLI command, and SwiftShader takes seconds to compile a pipeline).
 */
const deviceCaches = new WeakMap<
  GPUDevice,
  { pipelines: Map<string, GPUComputePipeline>; layouts: Map<string, GPUBindGroupLayout> }
>();

export class Gpu {
  readonly device: GPUDevice;
  readonly info: GpuInfo;
  private readonly pipelines: Map<string, GPUComputePipeline>;
  private readonly layouts: Map<string, GPUBindGroupLayout>;
  private uncaptured: { error: GPUError; message: string }[] = [];
  private pending: Promise<{ label: string; error: GPUError } | undefined>[] = [];
  lostReason: string | undefined;
  /** The training steps queued and how long one takes: see queue-clock.ts. */
  readonly clock = new QueueClock();
  /**
   * Whether waits first sleep through most of the steps the clock expects the GPU still to run (no promise is
   * pending meanwhile, so dawn.node does not poll; a browser's pending promises cost nothing). On under Node,
   * off in browsers. On the H200 (bench/RESULTS.md, 2026-12-02 00:00 UTC; bench/runs/h200-2026-12-02-s13,
   * call 1) lab-gpt's R = 8 sweep took 4.382 / 4.382 ms a step with it against 4.468 / 4.499 polling (GPU pass
   * 4.34 both ways); R = 1, 16, 64, the CLI's loop and GPT-2 small within ±0.7 % of polling. The bench's
   * `--waits poll|patient` sets it to time both.
   */
  patientWaits = isNode();

  /**
   * `listen: false`: a Gpu that submits nothing (PlanningGpu) does not listen to the device's errors and loss,
   * so the device holds no reference to it.
   */
  constructor({ device, info }: AcquiredDevice, { listen = true }: { listen?: boolean } = {}) {
    this.device = device;
    this.info = info;
    let cache = deviceCaches.get(device);
    if (!cache) deviceCaches.set(device, (cache = { pipelines: new Map(), layouts: new Map() }));
    this.pipelines = cache.pipelines;
    this.layouts = cache.layouts;
    if (!listen) return;
    device.addEventListener('uncapturederror', this.onUncaptured);
    void device.lost.then((l) => {
      this.lostReason = `${l.reason}: ${l.message}`;
    });
  }

  static async create(): Promise<Gpu> {
    return new Gpu(await acquireDevice());
  }

  get hasTimestamps(): boolean {
    return this.device.features.has('timestamp-query');
  }

  private checkAlive(what: string): void {
    if (this.lostReason !== undefined && !this.lostReason.startsWith('destroyed')) {
      throw new GpuError(`GPU device lost (${this.lostReason})`, what, 'device-lost');
    }
  }

  /** A storage buffer, zero-filled, or holding `data`. Sizes are rounded up to 4 bytes (min 4). */
  buffer(data: ArrayBufferView | number, label = 'buffer'): GPUBuffer {
    this.checkAlive(label);
    const size = bufferSize(data);
    const max = this.device.limits.maxBufferSize;
    if (size > max)
      throw new GpuError(
        `buffer of ${size} bytes exceeds the device's maxBufferSize ${max}`,
        label,
        'out-of-memory',
      );
    const buf = this.device.createBuffer({
      size,
      usage: STORAGE_USAGE,
      label,
      mappedAtCreation: typeof data !== 'number',
    });
    if (typeof data !== 'number') {
      new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      buf.unmap();
    }
    return buf;
  }

  write(buf: GPUBuffer, data: ArrayBufferView, byteOffset = 0): void {
    this.device.queue.writeBuffer(buf, byteOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  private layoutFor(kernel: Kernel<string, string>): GPUBindGroupLayout {
    let layout = this.layouts.get(kernel.label);
    if (!layout) {
      const entries: GPUBindGroupLayoutEntry[] = kernel.bindingNames.map((name, i) => ({
        binding: i,
        visibility: 0x4 /* COMPUTE */,
        buffer: { type: kernel.bindings[name] === 'read' ? 'read-only-storage' : 'storage' },
      }));
      entries.push({ binding: entries.length, visibility: 0x4, buffer: { type: 'uniform' } });
      layout = this.device.createBindGroupLayout({ label: kernel.label, entries });
      this.layouts.set(kernel.label, layout);
    }
    return layout;
  }

  /** The compute pipeline of a kernel for a set of override constants; cached. */
  pipeline(kernel: Kernel<string, string>, constants: Record<string, number> = {}): GPUComputePipeline {
    const all = { ...kernel.constants, ...constants };
    const key = `${kernel.label}|${Object.keys(all)
      .sort()
      .map((k) => `${k}=${all[k]}`)
      .join(',')}`;
    let p = this.pipelines.get(key);
    if (!p) {
      this.device.pushErrorScope('validation');
      const code = kernel.specialize ? kernel.specialize(all) : kernel.source;
      const overrides = Object.fromEntries(
        Object.entries(all).filter(([k]) => !kernel.hostConstants?.includes(k)),
      );
      const module = this.device.createShaderModule({ label: kernel.label, code });
      p = this.device.createComputePipeline({
        label: kernel.label,
        layout: this.device.createPipelineLayout({
          label: kernel.label,
          bindGroupLayouts: [this.layoutFor(kernel)],
        }),
        compute: { module, entryPoint: kernel.entryPoint ?? 'main', constants: overrides },
      });
      const pipelineRef = p;
      void this.device.popErrorScope().then((err) => {
        // GPUError.message is read-only in Dawn: keep the error, name the pipeline in a wrapper.
        if (err) this.uncaptured.push({ error: err, message: `pipeline ${key}: ${err.message}` });
        void pipelineRef;
      });
      this.pipelines.set(key, p);
    }
    return p;
  }

  /**
   * Bind a kernel to buffers and parameters once; the returned dispatch can be encoded every step.
   * Creates a bind group and a small uniform buffer: do this at setup time, never in a step loop.
   */
  prepare<B extends string, P extends string>(
    kernel: Kernel<B, P>,
    buffers: Record<B, GPUBuffer>,
    params: Record<P, number>,
    constants: Record<string, number> = {},
  ): Dispatch<P> {
    this.checkAlive(kernel.label);
    for (const name of kernel.bindingNames) {
      if (!buffers[name]) throw new GpuError(`binding ${name} has no buffer`, kernel.label, 'validation');
    }
    const values = { ...params };
    // Checked before the pipeline is made: a refused dispatch leaves nothing behind.
    const packed = packParams(kernel, values);
    const fixed = Object.entries(kernel.paramConstants ?? {}) as [P, string][];
    if (fixed.length)
      constants = { ...constants, ...Object.fromEntries(fixed.map(([p, c]) => [c, values[p]])) };
    const pipeline = this.pipeline(kernel, constants);
    const uniform = this.device.createBuffer({
      size: kernel.paramBytes,
      usage: UNIFORM_USAGE,
      label: `${kernel.label}.params`,
    });
    this.device.queue.writeBuffer(uniform, 0, packed);
    const entries: GPUBindGroupEntry[] = kernel.bindingNames.map((name, i) => ({
      binding: i,
      resource: { buffer: buffers[name] },
    }));
    entries.push({ binding: entries.length, resource: { buffer: uniform } });
    const bindGroup = this.device.createBindGroup({
      label: kernel.label,
      layout: this.layoutFor(kernel),
      entries,
    });
    const allConstants = { ...kernel.constants, ...constants };
    const workgroups = kernel.workgroups(values, allConstants);
    const maxWg = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (workgroups.some((w) => w > maxWg)) {
      throw new GpuError(
        `dispatch ${workgroups.join('x')} exceeds maxComputeWorkgroupsPerDimension ${maxWg}`,
        kernel.label,
        'validation',
      );
    }
    const device = this.device;
    return {
      label: kernel.label,
      workgroups,
      encode(pass) {
        if (workgroups[0] === 0 || workgroups[1] === 0 || workgroups[2] === 0) return;
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bindGroup);
        pass.dispatchWorkgroups(workgroups[0], workgroups[1], workgroups[2]);
      },
      setParams(update) {
        for (const [p] of fixed)
          if (update[p] !== undefined && update[p] !== values[p])
            throw new GpuError(
              `parameter ${p} is fixed when prepared (an override constant)`,
              kernel.label,
              'validation',
            );
        Object.assign(values, update);
        device.queue.writeBuffer(uniform, 0, packParams(kernel, values));
      },
    };
  }

  /**
   * Encode dispatches into one compute pass of one command buffer and submit it. Errors raised by the
   * submission are thrown as GpuError naming the step (and Dawn's message names the kernel's label).
   */
  async run(label: string, dispatches: readonly Dispatch[], opts: { wait?: boolean } = {}): Promise<void> {
    this.submit(label, dispatches);
    if (opts.wait ?? true) await this.sync(label);
  }

  /** Record dispatches into one pass and submit without waiting; errors surface at the next sync(). */
  submit(
    label: string,
    dispatches: readonly Dispatch[],
    timestamps?: GPUComputePassTimestampWrites,
    work: QueuedWork = 'other',
  ): void {
    this.submitEncoded(
      label,
      (encoder) => {
        const pass = encoder.beginComputePass({ label, timestampWrites: timestamps });
        for (const d of dispatches) d.encode(pass);
        pass.end();
      },
      work,
    );
  }

  /**
   * How submissions are wrapped in error scopes: 'submit', three scopes around each (an error names its
   * submission), or 'window', three scopes from the first submission after a sync to the next sync (an error
   * names the first and last submission of the window). The default is 'window': per submission, a training
   * step leaves three pending promises behind, and with 120 steps queued their resolution at the sync cost the
   * H200's R = 8 sweep up to 13 ms a trial (2 to 3 % of its wall clock; bench/RESULTS.md, the bench's
   * `--error-scopes`). A window still names the range of submissions an error came from, and every caller
   * syncs at least every readback.
   */
  errorScopes: 'submit' | 'window' = 'window';
  private window: { first: string; last: string } | null = null;

  /**
   * Record arbitrary commands (several passes, copies) into one command buffer and submit it. `work` tells the
   * queue clock what it is: a training step, a readback's copies, or anything else.
   */
  submitEncoded(
    label: string,
    record: (encoder: GPUCommandEncoder) => void,
    work: QueuedWork = 'other',
  ): void {
    this.checkAlive(label);
    const perSubmit = this.errorScopes === 'submit';
    if (perSubmit || !this.window) for (const s of ERROR_FILTERS) this.device.pushErrorScope(s);
    if (!perSubmit) this.window = { first: this.window?.first ?? label, last: label };
    const encoder = this.device.createCommandEncoder({ label });
    record(encoder);
    this.device.queue.submit([encoder.finish()]);
    this.clock.submitted(work, performance.now());
    if (perSubmit) this.popScopes(label);
  }

  /**
   * Wait until the GPU has run everything submitted: with patientWaits, first sleep through most of the queued
   * steps the clock expects (then a promise is pending only for the rest).
   */
  async waitIdle(): Promise<void> {
    const ms = this.patientWaits ? this.clock.sleepBefore(performance.now()) : 0;
    await sleep(ms);
    const start = performance.now();
    await this.device.queue.onSubmittedWorkDone();
    const end = performance.now();
    this.clock.drained(end, ms > 0, end - start);
  }

  /**
   * With patientWaits, sleep until the clock expects at most `steps` of the queued steps to be left (the
   * driver's bound on the steps in flight, without a promise per step); at once otherwise or without an
   * estimate. Returns whether it could pace (false: the caller must bound the queue itself).
   */
  async paceSteps(steps: number): Promise<boolean> {
    if (!this.patientWaits || this.clock.msPerStep === null) return false;
    await sleep(this.clock.sleepBefore(performance.now(), steps));
    return true;
  }

  /** Pop the three scopes pushed last; their errors surface at sync(), named `label`. */
  private popScopes(label: string): void {
    for (let i = 0; i < ERROR_FILTERS.length; i++) {
      this.pending.push(this.device.popErrorScope().then((e) => (e ? { label, error: e } : undefined)));
    }
  }

  /** Wait for submitted work and throw the first GPU error since the last sync, naming its step. */
  async sync(label = 'sync'): Promise<void> {
    if (this.window) {
      const { first, last } = this.window;
      this.window = null;
      this.popScopes(first === last ? first : `${first} … ${last}`);
    }
    await this.waitIdle();
    const pending = this.pending;
    this.pending = [];
    const results = await Promise.all(pending);
    this.checkAlive(label);
    const first = results.find((r) => r !== undefined);
    this.throwPending(first?.label ?? label, first?.error);
  }

  throwPending(label: string, extra?: GPUError): void {
    const errs = extra ? [extra, ...this.uncaptured] : this.uncaptured;
    this.uncaptured = [];
    if (errs.length > 0) {
      const e = errs[0];
      const kind =
        e instanceof GPUOutOfMemoryError
          ? 'out-of-memory'
          : e instanceof GPUValidationError
            ? 'validation'
            : 'internal';
      throw new GpuError(e.message, label, kind);
    }
  }

  /** Copy a buffer (or a byte range of it) back to the CPU. For tests and throttled metrics. */
  async readBytes(src: GPUBuffer, byteLength = src.size, byteOffset = 0): Promise<ArrayBuffer> {
    this.checkAlive('readback');
    const size = Math.ceil(byteLength / 4) * 4;
    const staging = this.device.createBuffer({ size, usage: MAP_READ_USAGE, label: 'readback' });
    this.submitEncoded(
      'readback',
      (encoder) => encoder.copyBufferToBuffer(src, byteOffset, staging, 0, size),
      'readback',
    );
    return (await this.readStaging(staging, 'readback')).slice(0, byteLength);
  }

  /** After the copies into `staging` were submitted: wait for them, and its bytes (the buffer is destroyed). */
  private async readStaging(staging: GPUBuffer, label: string): Promise<ArrayBuffer> {
    await this.sync(label);
    await staging.mapAsync(0x0001 /* READ */);
    const out = staging.getMappedRange().slice(0);
    staging.unmap();
    staging.destroy();
    return out;
  }

  async readF32(src: GPUBuffer, count?: number, offset = 0): Promise<Float32Array> {
    const n = count ?? (src.size - offset * 4) / 4;
    return new Float32Array(await this.readBytes(src, n * 4, offset * 4));
  }

  /**
   * Several float32 ranges back to the CPU with one copy submit and one wait: a sync drains the queue, so
   * reading n buffers one by one would leave the GPU idle n round trips.
   */
  async readManyF32(
    reads: readonly { src: GPUBuffer; count: number; offset?: number }[],
  ): Promise<Float32Array[]> {
    this.checkAlive('readback');
    const at: number[] = [];
    let size = 0;
    for (const r of reads) {
      at.push(size);
      size += r.count * 4;
    }
    const staging = this.device.createBuffer({
      size: Math.max(4, size),
      usage: MAP_READ_USAGE,
      label: 'readback',
    });
    this.submitEncoded(
      'readback',
      (encoder) =>
        reads.forEach((r, i) => {
          if (r.count > 0)
            encoder.copyBufferToBuffer(r.src, (r.offset ?? 0) * 4, staging, at[i], r.count * 4);
        }),
      'readback',
    );
    const all = await this.readStaging(staging, 'readback');
    return reads.map((r, i) => new Float32Array(all, at[i], r.count));
  }

  /**
   * Submit passes whose results stay on the GPU until one read: `record(k)` for k = 0 .. count − 1 submits
   * one command buffer each (its dispatches, then the copy of `bytes` bytes of `src` into slot k), and the
   * slots come back together after the last, with a single wait. Work between the records (buffer writes)
   * stays in queue order.
   */
  async collect(
    label: string,
    count: number,
    src: GPUBuffer,
    bytes: number,
    record: (k: number) => readonly Dispatch[] | null,
  ): Promise<(Float32Array | null)[]> {
    this.checkAlive(label);
    const staging = this.device.createBuffer({
      size: Math.max(4, count * bytes),
      usage: MAP_READ_USAGE,
      label: `${label} results`,
    });
    const filled: boolean[] = [];
    for (let k = 0; k < count; k++) {
      const dispatches = record(k);
      filled.push(dispatches !== null);
      if (dispatches === null) continue;
      this.submitEncoded(label, (encoder) => {
        const pass = encoder.beginComputePass({ label });
        for (const d of dispatches) d.encode(pass);
        pass.end();
        encoder.copyBufferToBuffer(src, 0, staging, k * bytes, bytes);
      });
    }
    const all = await this.readStaging(staging, label);
    return filled.map((f, k) => (f ? new Float32Array(all, k * bytes, bytes / 4) : null));
  }

  /**
   * After a failed call: the device's loss reason, or undefined when the device is fine. Waits briefly, as
   * the lost promise may settle just after the failing call.
   */
  async lostAfterError(): Promise<string | undefined> {
    if (this.lostReason === undefined)
      await Promise.race([this.device.lost, new Promise((resolve) => setTimeout(resolve, 100))]);
    return this.lostReason;
  }

  /** Errors no scope caught, kept for the next sync (a listener on the device while this Gpu uses it). */
  private readonly onUncaptured = (e: Event): void => {
    const error = (e as GPUUncapturedErrorEvent).error;
    this.uncaptured.push({ error, message: error.message });
  };

  /** Stop listening to the device (it stays open): for a Gpu over a device that outlives it (tests). */
  detach(): void {
    this.device.removeEventListener('uncapturederror', this.onUncaptured);
  }

  destroy(): void {
    this.detach();
    this.device.destroy();
  }
}

/** Resolves after `ms` milliseconds (at once for 0 or less). */
function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

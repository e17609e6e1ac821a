// The sweep engine: every run of a learning-rate sweep trains in lockstep as one batched computation.
// One command buffer per step (forward, backward, divergence guard, optimizer), no readback per step:
// losses go to a ring on the GPU and are read a few times a second.
import type { Dispatch, Gpu } from '../gpu/context';
import { runSums } from '../kernels/reduce';
import { ELEMENTWISE_OP, elementwise } from '../kernels/elementwise';
import { STATE, sweepGuard } from '../kernels/sweep';
import { GpuModel } from '../model/gpu-model';
import { uploadWeights, type BaseWeights, type BatchInputs, type LoraState } from '../model/buffers';
import type { LabGptConfig, Weights } from '../model/config';
import { initLora } from '../model/init';
import { loraLayout, type LoraLayout } from '../model/lora-layout';
import { OptimizerStep, resolveRunHyper, type RunState } from '../optim/optimizer';
import type { RunSpec, SweepConfig } from './config';
import { lrFactor } from './schedule';
import type { Batch, BatchSource } from './batch';
import { readSafetensors, writeSafetensors } from '../io/safetensors';

const HISTORY_ROWS = 256;

export interface StepReport {
  /** Steps covered by this report, in order. */
  steps: number[];
  /** losses[i][run]: training loss of run `run` at steps[i] (NaN once diverged is kept as measured). */
  losses: number[][];
  tokensPerSec: number;
  gradNorm: number[];
  updateNorm: number[];
  choleskyFallbacks: number[];
  alive: boolean[];
  divergedAtStep: (number | null)[];
}

/** Per-run bookkeeping on the host (the GPU holds the numbers). */
interface HostRun {
  spec: RunSpec;
  startStep: number;
  stoppedAtStep: number | null;
}

export interface InitialAdapter {
  A: Float32Array; // one run's [SA]
  B: Float32Array; // one run's [SB]
}

export class SweepEngine {
  readonly layout: LoraLayout;
  private base: BaseWeights;
  private runs: HostRun[] = [];
  private model!: GpuModel;
  private optim!: OptimizerStep;
  private lora!: LoraState;
  private inputs!: BatchInputs;
  private state!: GPUBuffer;
  private history!: GPUBuffer;
  private gradSq!: { A: GPUBuffer; B: GPUBuffer; flags: GPUBuffer };
  private prev!: { A: GPUBuffer; B: GPUBuffer; dA: GPUBuffer; dB: GPUBuffer; sqA: GPUBuffer; sqB: GPUBuffer };
  private guard!: Dispatch;
  private stepList: Dispatch[] = [];
  private forwardList: Dispatch[] = [];
  private normList: { pre: Dispatch[]; post: Dispatch[] } = { pre: [], post: [] };
  private initA: Float32Array;
  private initB: Float32Array;
  /** Steps done so far by the sweep (the next step is step + 1). */
  step = 0;
  /** Index of the next training batch: batches with no target token are skipped (never trained on). */
  batchIndex = 0;
  private lastRead = 0;

  constructor(
    readonly gpu: Gpu,
    readonly cfg: LabGptConfig,
    weights: Weights,
    readonly config: SweepConfig,
    readonly data: BatchSource,
    init?: InitialAdapter,
    readonly options: { splitMinChunk?: number } = {},
  ) {
    this.layout = loraLayout(cfg, config.lora);
    const seeded = initLora(this.layout, config.seed);
    this.initA = init?.A ?? seeded.A;
    this.initB = init?.B ?? seeded.B;
    if (this.initA.length !== this.layout.SA || this.initB.length !== this.layout.SB) {
      throw new Error(
        `initial adapter has ${this.initA.length}/${this.initB.length} values, the LoRA layout needs ${this.layout.SA}/${this.layout.SB}`,
      );
    }
    this.base = uploadWeights(gpu, cfg, weights);
    this.runs = config.runs.map((spec) => ({ spec, startStep: 0, stoppedAtStep: null }));
    this.build(undefined);
  }

  get R(): number {
    return this.runs.length;
  }

  get runSpecs(): RunSpec[] {
    return this.runs.map((r) => r.spec);
  }

  /** (Re)allocate everything sized by R; copy per-run state from `carry` (the previous runs' snapshot). */
  private build(carry: Snapshot | undefined): void {
    const { gpu, layout, config } = this;
    const R = this.R;
    const { SA, SB } = layout;
    const A = new Float32Array(R * SA);
    const B = new Float32Array(R * SB);
    const state = new Float32Array(R * STATE.width);
    for (let i = 0; i < R; i++) {
      A.set(this.initA, i * SA);
      B.set(this.initB, i * SB);
      state[i * STATE.width + STATE.alive] = 1;
    }
    if (carry) {
      A.set(carry.A.subarray(0, Math.min(carry.A.length, A.length)));
      B.set(carry.B.subarray(0, Math.min(carry.B.length, B.length)));
      state.set(carry.state.subarray(0, Math.min(carry.state.length, state.length)));
    }
    this.lora = {
      A: gpu.buffer(A, 'loraA'),
      B: gpu.buffer(B, 'loraB'),
      dA: gpu.buffer(R * SA * 4, 'loraDA'),
      dB: gpu.buffer(R * SB * 4, 'loraDB'),
    };
    const n = config.batch * config.seq;
    this.inputs = {
      tokens: gpu.buffer(n * 4, 'tokens'),
      targets: gpu.buffer(n * 4, 'targets'),
      mask: gpu.buffer(n * 4, 'mask'),
    };
    this.state = gpu.buffer(state, 'runState');
    this.history = gpu.buffer(HISTORY_ROWS * R * 4, 'lossHistory');
    this.model = new GpuModel(
      gpu,
      this.cfg,
      layout,
      { R, Bt: config.batch, T: config.seq },
      this.base,
      this.lora,
      this.inputs,
      this.options.splitMinChunk,
    );
    this.optim = new OptimizerStep(
      gpu,
      layout,
      this.runs.map((r) => resolveRunHyper(r.spec.optimizer, r.spec, config.hyper)),
      config.hyper.preconditionerOrder,
      this.lora,
      this.state,
    );
    if (carry) {
      for (const [buf, data] of [
        [this.optim.buffers.mA, carry.mA],
        [this.optim.buffers.vA, carry.vA],
        [this.optim.buffers.mB, carry.mB],
        [this.optim.buffers.vB, carry.vB],
      ] as const) {
        gpu.write(buf, data.subarray(0, Math.min(data.length, buf.size / 4)));
      }
    }
    this.gradSq = {
      A: gpu.buffer(R * 4, 'gradSqA'),
      B: gpu.buffer(R * 4, 'gradSqB'),
      flags: gpu.buffer(R * 4, 'gradFlags'),
    };
    this.prev = {
      A: gpu.buffer(R * SA * 4, 'prevA'),
      B: gpu.buffer(R * SB * 4, 'prevB'),
      dA: gpu.buffer(R * SA * 4, 'deltaA'),
      dB: gpu.buffer(R * SB * 4, 'deltaB'),
      sqA: gpu.buffer(R * 4, 'updSqA'),
      sqB: gpu.buffer(R * 4, 'updSqB'),
    };
    const forward = this.model.forward(1);
    this.forwardList = forward;
    const backward = this.model.backward();
    this.guard = gpu.prepare(
      sweepGuard,
      {
        lossSums: this.model.lossSums,
        lossFlags: this.model.lossFlags,
        state: this.state,
        hyper: this.optim.buffers.hyper,
        history: this.history,
      },
      { R, step: 1, historyRow: 0, invCount: 1, boundFactor: config.divergenceFactor },
    );
    const sums = (x: GPUBuffer, out: GPUBuffer, per: number) =>
      gpu.prepare(runSums, { x, sums: out, flags: this.gradSq.flags }, { R, n: per, square: 1 });
    const ew = (op: 'copy' | 'sub', a: GPUBuffer, b: GPUBuffer, out: GPUBuffer, count: number) =>
      gpu.prepare(elementwise, { a, b, out }, { n: count }, { OP: ELEMENTWISE_OP[op] });
    this.normList = {
      pre: [
        sums(this.lora.dA, this.gradSq.A, SA),
        sums(this.lora.dB, this.gradSq.B, SB),
        ew('copy', this.lora.A, this.lora.A, this.prev.A, R * SA),
        ew('copy', this.lora.B, this.lora.B, this.prev.B, R * SB),
      ],
      post: [
        ew('sub', this.lora.A, this.prev.A, this.prev.dA, R * SA),
        ew('sub', this.lora.B, this.prev.B, this.prev.dB, R * SB),
        sums(this.prev.dA, this.prev.sqA, SA),
        sums(this.prev.dB, this.prev.sqB, SB),
      ],
    };
    this.stepList = [...forward, ...backward, this.guard];
  }

  private destroyRunBuffers(): void {
    for (const b of [
      this.lora.A,
      this.lora.B,
      this.lora.dA,
      this.lora.dB,
      this.inputs.tokens,
      this.inputs.targets,
      this.inputs.mask,
      this.state,
      this.history,
      this.gradSq.A,
      this.gradSq.B,
      this.gradSq.flags,
      ...Object.values(this.prev),
    ])
      b.destroy();
    this.optim.destroy();
    this.model.destroy();
  }

  private uploadBatch(batch: Batch): number {
    const maskSum = batch.maskSum;
    this.gpu.write(this.inputs.tokens, batch.tokens);
    this.gpu.write(this.inputs.targets, batch.targets);
    this.gpu.write(this.inputs.mask, batch.mask);
    const invCount = maskSum > 0 ? 1 / maskSum : 0;
    this.model.lossDispatch!.setParams({ invCount });
    return invCount;
  }

  private runStates(step: number): RunState[] {
    const factor = lrFactor(
      { steps: this.config.steps, warmup: this.config.warmup, decay: this.config.decay },
      step,
    );
    return this.runs.map((r) => ({
      kind: r.spec.optimizer,
      lr: r.spec.lr * factor,
      t: step - r.startStep,
      active: r.stoppedAtStep === null,
    }));
  }

  /** Record and submit one training step for every run; no readback. `withNorms` samples grad/update norms. */
  submitStep(withNorms = false): void {
    const step = this.step + 1;
    let batch = this.data.train(this.batchIndex++);
    for (let tries = 0; batch.maskSum === 0; tries++) {
      if (tries > 1000)
        throw new Error(
          'the dataset has no target bytes in 1000 consecutive batches (prompts longer than the sequence length?)',
        );
      batch = this.data.train(this.batchIndex++);
    }
    const invCount = this.uploadBatch(batch);
    this.guard.setParams({ step, historyRow: (step - 1) % HISTORY_ROWS, invCount });
    this.optim.writeHyper(this.runStates(step));
    const list = withNorms
      ? [...this.stepList, ...this.normList.pre, ...this.optim.dispatches(), ...this.normList.post]
      : [...this.stepList, ...this.optim.dispatches()];
    this.gpu.submit(`step ${step}`, list);
    this.step = step;
  }

  /**
   * Forward + backward only, on batch k, for tests and checks: returns every run's Σ mask·nll and the
   * raw LoRA gradients [R, SA] / [R, SB] (the optimizer is not run, nothing changes).
   */
  async gradients(batch: Batch): Promise<{ lossSums: Float32Array; dA: Float32Array; dB: Float32Array }> {
    this.uploadBatch(batch);
    // stepList = forward, backward, guard: everything but the guard.
    this.gpu.submit('gradients', this.stepList.slice(0, this.stepList.length - 1));
    return {
      lossSums: await this.gpu.readF32(this.model.lossSums, this.R),
      dA: await this.gpu.readF32(this.lora.dA, this.R * this.layout.SA),
      dB: await this.gpu.readF32(this.lora.dB, this.R * this.layout.SB),
    };
  }

  /** Logits [R, Bt·T, V] of every run on one batch (forward only, without the loss that overwrites them). */
  async logits(batch: Batch): Promise<Float32Array> {
    this.uploadBatch(batch);
    // forwardList ends with cross-entropy (dlogits in place) and the per-run loss sums.
    this.gpu.submit('logits', this.forwardList.slice(0, this.forwardList.length - 2));
    return this.gpu.readF32(this.model.acts.logits, this.R * batch.Bt * batch.T * this.cfg.vocab_size);
  }

  /** Read the losses of the steps since the last read, and the per-run state. Syncs with the GPU. */
  async report(elapsedSeconds: number, stepsInWindow: number): Promise<StepReport> {
    const R = this.R;
    const from = this.lastRead + 1;
    const to = this.step;
    if (to - from + 1 > HISTORY_ROWS) throw new Error('internal: loss history overrun (read more often)');
    const hist = await this.gpu.readF32(this.history);
    const state = await this.gpu.readF32(this.state);
    const sq = await Promise.all(
      [this.gradSq.A, this.gradSq.B, this.prev.sqA, this.prev.sqB].map((b) => this.gpu.readF32(b, R)),
    );
    const steps: number[] = [];
    const losses: number[][] = [];
    for (let s = from; s <= to; s++) {
      steps.push(s);
      const row = (s - 1) % HISTORY_ROWS;
      losses.push(this.runs.map((r, i) => (s > r.startStep ? hist[row * R + i] : NaN)));
    }
    this.lastRead = to;
    const tokens = R * this.config.batch * this.config.seq * stepsInWindow;
    return {
      steps,
      losses,
      tokensPerSec: elapsedSeconds > 0 ? tokens / elapsedSeconds : 0,
      gradNorm: this.runs.map((_, i) => Math.sqrt(sq[0][i] + sq[1][i])),
      updateNorm: this.runs.map((_, i) => Math.sqrt(sq[2][i] + sq[3][i])),
      choleskyFallbacks: this.runs.map((_, i) => state[i * STATE.width + STATE.choleskyFallbacks]),
      alive: this.runs.map((_, i) => state[i * STATE.width + STATE.alive] > 0.5),
      divergedAtStep: this.runs.map((_, i) => state[i * STATE.width + STATE.divergedAtStep] || null),
    };
  }

  get pendingRows(): number {
    return this.step - this.lastRead;
  }

  /** Mean validation loss per run over the fixed validation batches (forward only). */
  async validate(): Promise<number[] | null> {
    const batches = this.data.validation();
    if (batches.length === 0) return null;
    const forward = this.forwardList;
    const sums = new Float64Array(this.R);
    let count = 0;
    for (const b of batches) {
      const inv = this.uploadBatch(b);
      if (inv === 0) continue;
      this.gpu.submit('validation', forward);
      const s = await this.gpu.readF32(this.model.lossSums, this.R);
      for (let i = 0; i < this.R; i++) sums[i] += s[i];
      count += 1 / inv;
    }
    return Array.from(sums, (s) => (count > 0 ? s / count : NaN));
  }

  /** Stop a run: it keeps its adapter and no longer trains. */
  stopRun(id: string): void {
    const r = this.runs.find((x) => x.spec.id === id);
    if (!r) throw new Error(`no run '${id}' in this sweep`);
    r.stoppedAtStep ??= this.step;
  }

  isStopped(id: string): boolean {
    return this.runs.find((x) => x.spec.id === id)?.stoppedAtStep != null;
  }

  /** Add a run to a training sweep: it starts from the sweep's initial adapter at the next step. */
  async addRun(spec: RunSpec): Promise<void> {
    if (this.runs.some((r) => r.spec.id === spec.id)) throw new Error(`duplicate run '${spec.id}'`);
    const snap = await this.snapshot();
    this.destroyRunBuffers();
    this.runs.push({ spec, startStep: this.step, stoppedAtStep: null });
    this.build(snap);
    // The history ring is new: the caller reports pending steps before adding (see driver.ts).
    this.lastRead = this.step;
  }

  /** Everything per-run on the GPU, read back (for addRun, checkpoints and adapter export). */
  async snapshot(): Promise<Snapshot> {
    const g = this.gpu;
    return {
      A: await g.readF32(this.lora.A),
      B: await g.readF32(this.lora.B),
      mA: await g.readF32(this.optim.buffers.mA),
      vA: await g.readF32(this.optim.buffers.vA),
      mB: await g.readF32(this.optim.buffers.mB),
      vB: await g.readF32(this.optim.buffers.vB),
      state: await g.readF32(this.state),
    };
  }

  /**
   * The sweep's whole state as bytes (safetensors: adapters, moments, per-run state; the config, step,
   * batch position and runs in its metadata). Call between steps, after the pending losses were read.
   */
  async checkpoint(): Promise<Uint8Array> {
    const snap = await this.snapshot();
    const all: Record<string, Float32Array> = { ...snap, initA: this.initA, initB: this.initB };
    const tensors = new Map(Object.entries(all).map(([k, v]) => [k, { shape: [v.length], data: v }]));
    const meta = { step: this.step, batchIndex: this.batchIndex, config: this.config, runs: this.runs };
    return writeSafetensors(tensors, { 'lora-lab.checkpoint': JSON.stringify(meta) });
  }

  /** Rebuild a sweep from checkpoint bytes, on the same base model and data. */
  static restore(
    gpu: Gpu,
    cfg: LabGptConfig,
    weights: Weights,
    bytes: Uint8Array,
    data: BatchSource,
  ): SweepEngine {
    const { tensors, metadata } = readSafetensors(bytes);
    const metaText = metadata['lora-lab.checkpoint'];
    if (!metaText) throw new Error('not a lora-lab checkpoint (no lora-lab.checkpoint metadata)');
    const meta = JSON.parse(metaText) as {
      step: number;
      batchIndex: number;
      config: SweepConfig;
      runs: HostRun[];
    };
    const get = (k: string): Float32Array => {
      const t = tensors.get(k);
      if (!t) throw new Error(`checkpoint: missing ${k}`);
      return t.data;
    };
    const snap: Snapshot = {
      A: get('A'),
      B: get('B'),
      mA: get('mA'),
      vA: get('vA'),
      mB: get('mB'),
      vB: get('vB'),
      state: get('state'),
    };
    const init = { A: get('initA'), B: get('initB') };
    const engine = new SweepEngine(
      gpu,
      cfg,
      weights,
      { ...meta.config, runs: meta.runs.map((r) => r.spec) },
      data,
      init,
    );
    engine.destroyRunBuffers();
    engine.runs = meta.runs;
    engine.build(snap);
    engine.step = meta.step;
    engine.batchIndex = meta.batchIndex;
    engine.lastRead = meta.step;
    return engine;
  }

  /** One run's adapter (A [SA], B [SB]). */
  async adapter(index: number): Promise<InitialAdapter> {
    const { SA, SB } = this.layout;
    return {
      A: await this.gpu.readF32(this.lora.A, SA, index * SA),
      B: await this.gpu.readF32(this.lora.B, SB, index * SB),
    };
  }

  hostRuns(): readonly { spec: RunSpec; startStep: number; stoppedAtStep: number | null }[] {
    return this.runs;
  }

  destroy(): void {
    this.destroyRunBuffers();
    for (const b of Object.values(this.base)) if (!Array.isArray(b)) (b as GPUBuffer).destroy();
    for (const l of this.base.layers) for (const b of Object.values(l)) b.destroy();
  }
}

export interface Snapshot {
  A: Float32Array;
  B: Float32Array;
  mA: Float32Array;
  vA: Float32Array;
  mB: Float32Array;
  vB: Float32Array;
  state: Float32Array;
}

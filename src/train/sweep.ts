// The sweep engine: every run of a sweep trains in lockstep as one batched computation.
// One command buffer per step (forward, loss, backward, divergence guard, optimizer), no readback per
// step: losses go to a ring on the GPU and are read a few times a second. Checkpoints: checkpoint.ts;
// gradient and update norms: norms.ts.
import type { Dispatch, Gpu } from '../gpu/context';
import { keepLastGood, lossGuard, STATE, sweepGuard } from '../kernels/sweep';
import {
  guardFoldOn,
  loraReduceGuard,
  loraReduceGuardConstants,
  loraReduceGuardFits,
  loraReduceGuardParams,
} from '../kernels/lora-skinny';
import type { LoraPendingA } from '../kernels/lora';
import type { AttentionVariant } from '../kernels/attention-variant';
import { GpuModel, lossDispatches, setInvCount, type ForwardPass } from '../model/gpu-model';
import {
  destroyAll,
  uploadWeights,
  type BaseWeights,
  type BatchInputs,
  type LoraState,
} from '../model/buffers';
import type { LabGptConfig, Weights } from '../model/config';
import { initLora } from '../model/init';
import { loraLayout, type LoraLayout } from '../model/lora-layout';
import { OptimizerStep, resolveRunHyper, type RunState } from '../optim/optimizer';
import type { RunSpec, SweepConfig } from './config';
import { lrFactor } from './schedule';
import type { Batch, BatchSource } from './batch';
import { checkpointSweep, restoreSweep } from './checkpoint';
import { UpdateNorms } from './norms';
import type {
  EngineOptions,
  HostRun,
  InitialAdapter,
  RunAdapter,
  Snapshot,
  StepReport,
} from './engine-types';

export type {
  EngineOptions,
  HostRun,
  InitialAdapter,
  ResumeState,
  RunAdapter,
  Snapshot,
  StepReport,
} from './engine-types';

const HISTORY_ROWS = 256;

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
  private norms!: UpdateNorms;
  private forwardPass!: ForwardPass;
  private backwardPass!: Dispatch[];
  private guard!: Dispatch;
  /** Each run's weights of its last step whose loss passed the guard [R, SA] / [R, SB]. */
  private lastGood!: { A: GPUBuffer; B: GPUBuffer };
  private keepLastGood!: Dispatch;
  /** runSums + guard in one dispatch (null: the split dispatches, when asked, or loraReduceGuard). */
  private lossGuard!: Dispatch | null;
  /** loraReduceGuard, the last dispatch of backwardPass, where the guard rides there (else null). */
  private guardFolded: Dispatch | null = null;
  /** The backward without the guard, for gradients() where backwardPass has it (prepared when first asked). */
  private plainBackward: Dispatch[] | null = null;
  /** The adapter every run starts from (seeded, or given). */
  readonly initial: InitialAdapter;
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
    readonly options: EngineOptions = {},
  ) {
    this.layout = loraLayout(cfg, config.lora);
    this.initial = init ?? initLora(this.layout, config.seed);
    const { A, B } = this.initial;
    if (A.length !== this.layout.SA || B.length !== this.layout.SB) {
      throw new Error(
        `initial adapter has ${A.length}/${B.length} values, the LoRA layout needs ${this.layout.SA}/${this.layout.SB}`,
      );
    }
    this.base = uploadWeights(gpu, cfg, weights, options.wtePieceBytes);
    const resume = options.resume;
    this.runs = resume?.runs ?? config.runs.map((spec) => ({ spec, startStep: 0, stoppedAtStep: null }));
    this.build(resume?.snapshot);
    if (resume) {
      this.step = resume.step;
      this.batchIndex = resume.batchIndex;
      this.lastRead = resume.step;
    }
  }

  /** Rebuild a sweep from checkpoint bytes (checkpoint.ts), on the same base model and data. */
  static restore(...args: Parameters<typeof restoreSweep>): SweepEngine {
    return restoreSweep(...args);
  }

  get R(): number {
    return this.runs.length;
  }

  /** The attention kernels the model runs (options.attention, or the pick for this R and shape). */
  get attention(): AttentionVariant {
    return this.model.attention;
  }

  /** Its probability buffers: 0 fused, one per layer for the passes, fewer where they are recomputed. */
  get attentionProbsBuffers(): number {
    return this.model.probsBuffers;
  }

  get runSpecs(): RunSpec[] {
    return this.runs.map((r) => r.spec);
  }

  /** (Re)allocate everything sized by R; copy per-run state from `carry` (the previous runs' snapshot). */
  private build(carry: Snapshot | undefined): void {
    // A new model, or a step that costs more (a run added): the queue clock learns the step time again.
    this.gpu.clock.reset();
    const { gpu, layout, config } = this;
    const R = this.R;
    const { SA, SB } = layout;
    const A = new Float32Array(R * SA);
    const B = new Float32Array(R * SB);
    const state = new Float32Array(R * STATE.width);
    for (let i = 0; i < R; i++) {
      A.set(this.initial.A, i * SA);
      B.set(this.initial.B, i * SB);
      state[i * STATE.width + STATE.alive] = 1;
    }
    if (carry) {
      A.set(carry.A.subarray(0, Math.min(carry.A.length, A.length)));
      B.set(carry.B.subarray(0, Math.min(carry.B.length, B.length)));
      state.set(carry.state.subarray(0, Math.min(carry.state.length, state.length)));
    }
    const lastA = A.slice();
    const lastB = B.slice();
    if (carry?.lastA) lastA.set(carry.lastA.subarray(0, Math.min(carry.lastA.length, A.length)));
    if (carry?.lastB) lastB.set(carry.lastB.subarray(0, Math.min(carry.lastB.length, B.length)));
    this.lastGood = { A: gpu.buffer(lastA, 'lastGoodA'), B: gpu.buffer(lastB, 'lastGoodB') };
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
      {
        splitMinChunk: this.options.splitMinChunk,
        loraSkinny: this.options.loraSkinny,
        attention: this.options.attention,
        lmHeadChunkRows: this.options.lmHeadChunkRows,
        matmulSplitK: this.options.matmulSplitK,
      },
    );
    this.optim = new OptimizerStep(
      gpu,
      layout,
      this.runs.map((r) => resolveRunHyper(r.spec.optimizer, r.spec, config.hyper)),
      config.hyper.preconditionerOrder,
      this.lora,
      this.state,
      { fused: this.options.fusedTail ?? true },
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
    this.norms = new UpdateNorms(gpu, layout, R, this.lora);
    this.forwardPass = this.model.forward(1);
    // With the fused tail the guard rides with the backward's last dA (loraReduceGuard) where it fits: one
    // dispatch fewer a step.
    const fold: { guard: Dispatch | null } = { guard: null };
    const fusedTail = this.options.fusedTail ?? true;
    this.backwardPass = this.model.backward((a) =>
      fusedTail ? (fold.guard = this.prepareReduceGuard(a)) : null,
    );
    this.guardFolded = fold.guard;
    this.plainBackward = null;
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
    this.keepLastGood = gpu.prepare(
      keepLastGood,
      {
        state: this.state,
        A: this.lora.A,
        B: this.lora.B,
        lastA: this.lastGood.A,
        lastB: this.lastGood.B,
      },
      { R, SA, SB },
    );
    // lossGuard where the fused tail's guard does not ride with the backward.
    this.lossGuard =
      fusedTail && !this.guardFolded
        ? gpu.prepare(
            lossGuard,
            {
              x: this.model.acts.rowLoss,
              lossSums: this.model.lossSums,
              lossFlags: this.model.lossFlags,
              state: this.state,
              hyper: this.optim.buffers.hyper,
              history: this.history,
            },
            this.lossGuardParams(),
          )
        : null;
  }

  /** lossGuard's params at step 1 (submitStep sets step, historyRow and invCount). */
  private lossGuardParams() {
    return {
      R: this.R,
      n: this.config.batch * this.config.seq,
      step: 1,
      historyRow: 0,
      invCount: 1,
      boundFactor: this.config.divergenceFactor,
    };
  }

  /**
   * Dispatches of a training step before its backward (forward, loss and the LM head's dLn) where the guard
   * rides with the backward's last dA, else null (the bench splits a step's list into phases with it).
   */
  get foldedForwardLength(): number | null {
    return this.guardFolded ? lossDispatches(this.forwardPass, true, null).length : null;
  }

  /** loraReduceGuard for the backward's last dA, or null where it does not fit or is switched off. */
  private prepareReduceGuard(a: LoraPendingA): Dispatch | null {
    if (!guardFoldOn() || !loraReduceGuardFits(this.gpu.device.limits)) return null;
    const guard = this.lossGuardParams();
    const constants = loraReduceGuardConstants(a.params, guard);
    if (!constants) return null;
    return this.gpu.prepare(
      loraReduceGuard,
      {
        duA: a.du,
        xA: a.x,
        gradA: a.gradA,
        rowLoss: this.model.acts.rowLoss,
        lossSums: this.model.lossSums,
        lossFlags: this.model.lossFlags,
        state: this.state,
        hyper: this.optim.buffers.hyper,
        history: this.history,
      },
      loraReduceGuardParams(a.params, guard),
      constants,
    );
  }

  /** Forward through the per-run loss sums; with `gradient`, also the LM head's dLn the backward starts from. */
  private forwardToLoss(gradient: boolean): Dispatch[] {
    return lossDispatches(this.forwardPass, gradient);
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
      this.lastGood.A,
      this.lastGood.B,
    ])
      b.destroy();
    this.norms.destroy();
    this.optim.destroy();
    this.model.destroy();
  }

  private uploadBatch(batch: Batch): number {
    const maskSum = batch.maskSum;
    this.gpu.write(this.inputs.tokens, batch.tokens);
    this.gpu.write(this.inputs.targets, batch.targets);
    this.gpu.write(this.inputs.mask, batch.mask);
    const invCount = maskSum > 0 ? 1 / maskSum : 0;
    setInvCount(this.forwardPass, invCount);
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
    const guardParams = { step, historyRow: (step - 1) % HISTORY_ROWS, invCount };
    this.optim.writeHyper(this.runStates(step));
    const norms = this.norms;
    const lossGuard = this.lossGuard;
    const folded = this.guardFolded;
    if (folded)
      folded.setParams({
        g_step: guardParams.step,
        g_historyRow: guardParams.historyRow,
        g_invCount: guardParams.invCount,
      });
    else if (lossGuard) lossGuard.setParams(guardParams);
    else this.guard.setParams(guardParams);
    // The guard freezes a run whose loss went bad, before its update (loraReduceGuard: with the backward's last
    // dA; lossGuard: with the loss sums, right after the loss); keepLastGood copies the alive runs' weights this
    // loss passed the guard with to lastGood.
    this.gpu.submit(
      `step ${step}`,
      [
        ...(folded
          ? lossDispatches(this.forwardPass, true, null)
          : lossGuard
            ? lossDispatches(this.forwardPass, true, lossGuard)
            : this.forwardToLoss(true)),
        ...this.backwardPass,
        ...(lossGuard || folded ? [] : [this.guard]),
        this.keepLastGood,
        ...(withNorms ? norms.before : []),
        ...this.optim.dispatches(),
        ...(withNorms ? norms.after : []),
      ],
      undefined,
      'step',
    );
    this.step = step;
  }

  /**
   * Forward + backward only, on batch k, for tests and checks: returns every run's Σ mask·nll and the
   * raw LoRA gradients [R, SA] / [R, SB] (the optimizer is not run, nothing changes).
   */
  async gradients(batch: Batch): Promise<{ lossSums: Float32Array; dA: Float32Array; dB: Float32Array }> {
    this.uploadBatch(batch);
    const backward = this.guardFolded ? (this.plainBackward ??= this.model.backward()) : this.backwardPass;
    this.gpu.submit('gradients', [...this.forwardToLoss(true), ...backward]);
    return {
      lossSums: await this.gpu.readF32(this.model.lossSums, this.R),
      dA: await this.gpu.readF32(this.lora.dA, this.R * this.layout.SA),
      dB: await this.gpu.readF32(this.lora.dB, this.R * this.layout.SB),
    };
  }

  /**
   * Logits [R, Bt·T, V] of every run on one batch (forward only, without the loss that overwrites them),
   * read chunk by chunk of the LM head.
   */
  async logits(batch: Batch): Promise<Float32Array> {
    this.uploadBatch(batch);
    const V = this.cfg.vocab_size;
    const out = new Float32Array(this.R * batch.Bt * batch.T * V);
    this.gpu.submit('logits', this.forwardPass.body);
    for (const c of this.forwardPass.head) {
      this.gpu.submit('logits', c.logits);
      out.set(await this.gpu.readF32(this.model.acts.logits, c.rows * V), c.start * V);
    }
    return out;
  }

  /** Pieces of wte (one unless it is over the device's binding limits): model/buffers.ts, wtePieceRows. */
  get wtePieces(): number {
    return this.base.wte.length;
  }

  /** Rows per chunk of the LM head, and the number of chunks. */
  get lmHead(): { chunkRows: number; chunks: number } {
    return { chunkRows: this.model.headRows, chunks: this.forwardPass.head.length };
  }

  /** Read the losses of the steps since the last read, and the per-run state. Syncs with the GPU. */
  async report(elapsedSeconds: number, stepsInWindow: number): Promise<StepReport> {
    const R = this.R;
    const from = this.lastRead + 1;
    const to = this.step;
    if (to - from + 1 > HISTORY_ROWS) throw new Error('internal: loss history overrun (read more often)');
    // One read for the losses, the runs' state and the norms: each read drains the GPU.
    const norms = this.norms.sources();
    const [hist, state, ...normData] = await this.gpu.readManyF32([
      { src: this.history, count: this.history.size / 4 },
      { src: this.state, count: this.state.size / 4 },
      ...norms,
    ]);
    const { gradNorm, updateNorm } = this.norms.fromData(normData);
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
      gradNorm,
      updateNorm,
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
    const forward = this.forwardToLoss(false);
    const sums = new Float64Array(this.R);
    let count = 0;
    // Every batch's forward is queued before the one read: a read per batch drained the GPU 8 times
    // (the CLI's loop ran at 0.79× the bench's at R = 1 with validation every 50 steps, 0.95× without).
    const perBatch = await this.gpu.collect(
      'validation',
      batches.length,
      this.model.lossSums,
      this.R * 4,
      (k) => {
        const inv = this.uploadBatch(batches[k]);
        if (inv === 0) return null;
        count += 1 / inv;
        return forward;
      },
    );
    for (const s of perBatch) if (s) for (let i = 0; i < this.R; i++) sums[i] += s[i];
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
      lastA: await g.readF32(this.lastGood.A),
      lastB: await g.readF32(this.lastGood.B),
    };
  }

  /** The sweep's whole state as bytes (checkpoint.ts). Call between steps, after reading pending losses. */
  checkpoint(): Promise<Uint8Array> {
    return checkpointSweep(this);
  }

  /**
   * One run's adapter (A [SA], B [SB]): its current weights, or for a diverged run (diverged at step N)
   * the weights of step N − 1, its last loss that passed the guard (RunAdapter), never the frozen ones.
   */
  async adapter(index: number): Promise<RunAdapter> {
    const { SA, SB } = this.layout;
    const st = await this.gpu.readF32(this.state, STATE.width, index * STATE.width);
    const diverged = !(st[STATE.alive] > 0.5);
    const src = diverged ? this.lastGood : this.lora;
    return {
      A: await this.gpu.readF32(src.A, SA, index * SA),
      B: await this.gpu.readF32(src.B, SB, index * SB),
      divergedAtStep: diverged ? st[STATE.divergedAtStep] : null,
    };
  }

  hostRuns(): readonly { spec: RunSpec; startStep: number; stoppedAtStep: number | null }[] {
    return this.runs;
  }

  destroy(): void {
    this.destroyRunBuffers();
    destroyAll(this.base);
  }
}

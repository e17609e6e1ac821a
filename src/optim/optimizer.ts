// The optimizer step of a sweep, as batched dispatches over every adapter of every run (ALGORITHM.md).
// Runs may mix optimizers: each update kernel runs once over the per-run hyper rows, whose `rule`
// selects the runs of its kind; the Riemannian preconditioner's jobs list only Riemannian runs.
import type { Dispatch, Gpu } from '../gpu/context';
import { aAtJob, bTbJob, packJobs, type FactorJob } from '../kernels/gram';
import { gramCholeskySolve } from '../kernels/gram-cholesky-solve';
import {
  adamwUpdate,
  optimizerFused,
  optimizerFusedFits,
  packFusedJobs,
  sgdUpdate,
  type FusedJob,
} from '../kernels/optimizer';
import { countFallbacks } from '../kernels/sweep';
import { HYPER_WIDTH, hyperRow, packHyper } from '../kernels/hyper';
import type { LoraLayout } from '../model/lora-layout';
import type { LoraState } from '../model/buffers';

export type OptimizerKind = 'adamw' | 'riemannian-adamw' | 'sgd' | 'riemannian-sgd' | 'loraplus-adamw';
export const OPTIMIZERS: readonly OptimizerKind[] = [
  'adamw',
  'riemannian-adamw',
  'sgd',
  'riemannian-sgd',
  'loraplus-adamw',
];

export interface OptimizerHyper {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  damping: number;
  /** 'paper': PB from the updated A (ALGORITHM.md, default); 'old-iterate': both from (A_t, B_t). */
  preconditionerOrder: 'paper' | 'old-iterate';
}

export const DEFAULT_HYPER: OptimizerHyper = {
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
  damping: 1e-6,
  preconditionerOrder: 'paper',
};

/** What a run may set for itself (RunSpec's optional fields); unset ones come from the sweep's hyper. */
export interface RunOverrides {
  damping?: number;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** LoRA+ (PEFT's loraplus_lr_ratio): B's learning rate = ratio × the run's. */
  loraplusRatio?: number;
}

/** One run's optimizer, every hyper-parameter resolved. */
export interface RunHyper {
  kind: OptimizerKind;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  damping: number;
  loraplusRatio: number;
}

/** ALGORITHM.md, LoRA+: the named shorthand `loraplus-adamw` is AdamW with λ = 16 unless given. */
export const LORAPLUS_DEFAULT_RATIO = 16;

export function resolveRunHyper(
  kind: OptimizerKind,
  o: RunOverrides,
  sweep: Omit<OptimizerHyper, 'preconditionerOrder'>,
): RunHyper {
  return {
    kind,
    beta1: o.beta1 ?? sweep.beta1,
    beta2: o.beta2 ?? sweep.beta2,
    eps: o.eps ?? sweep.eps,
    weightDecay: o.weightDecay ?? sweep.weightDecay,
    damping: o.damping ?? sweep.damping,
    loraplusRatio: o.loraplusRatio ?? (kind === 'loraplus-adamw' ? LORAPLUS_DEFAULT_RATIO : 1),
  };
}

export const isAdam = (k: OptimizerKind): boolean => k !== 'sgd' && k !== 'riemannian-sgd';
export const isRiemannian = (k: OptimizerKind): boolean => k === 'riemannian-adamw' || k === 'riemannian-sgd';

export interface RunState {
  kind: OptimizerKind;
  /** Learning rate of this step (after warm-up and decay). */
  lr: number;
  /** This run's own step count t = 1, 2, ... (for Adam's bias correction). */
  t: number;
  /** False for stopped runs (diverged runs are frozen on the GPU by the guard). */
  active: boolean;
}

/** One side of a preconditioned solve: Gram of `factors` → P, then rhs ← P⁻¹-applied gradient. */
interface PreconditionSide {
  dispatches: Dispatch[];
  status: GPUBuffer;
  jobRun: GPUBuffer;
  count: number;
}

export interface OptimizerBuffers {
  mA: GPUBuffer;
  vA: GPUBuffer;
  mB: GPUBuffer;
  vB: GPUBuffer;
  /** [R] rows of `struct Hyper` (kernels/hyper.ts), rewritten every step. */
  hyper: GPUBuffer;
  /** Per-run state [R, 4] (alive, first loss, diverged step, Cholesky fall-backs): see kernels/sweep.ts. */
  state: GPUBuffer;
}

export class OptimizerStep {
  readonly buffers: OptimizerBuffers;
  private readonly list: Dispatch[];
  private readonly owned: GPUBuffer[] = [];

  readonly kinds: readonly OptimizerKind[];
  /**
   * One dispatch for the whole step (optimizerFused, one workgroup per run and adapter), or the split path
   * (a Gram + Cholesky dispatch per side and an update dispatch per factor and rule): where the device has
   * fewer storage bindings than the fused kernel needs, or when asked (tests compare the two).
   */
  readonly fused: boolean;

  constructor(
    readonly gpu: Gpu,
    readonly layout: LoraLayout,
    readonly runs: readonly RunHyper[],
    readonly order: OptimizerHyper['preconditionerOrder'],
    readonly lora: LoraState,
    state: GPUBuffer,
    opts: { fused?: boolean } = {},
  ) {
    const kinds = (this.kinds = runs.map((r) => r.kind));
    const R = kinds.length;
    const { SA, SB } = layout;
    const buf = (n: number, label: string) => {
      const b = gpu.buffer(n * 4, label);
      this.owned.push(b);
      return b;
    };
    this.buffers = {
      mA: buf(R * SA, 'adam.mA'),
      vA: buf(R * SA, 'adam.vA'),
      mB: buf(R * SB, 'adam.mB'),
      vB: buf(R * SB, 'adam.vB'),
      hyper: buf(R * HYPER_WIDTH, 'hyper'),
      state,
    };
    const riem = kinds.map((k, i) => (isRiemannian(k) ? i : -1)).filter((i) => i >= 0);
    const bothOld = riem.filter((i) => kinds[i] === 'riemannian-sgd' || order === 'old-iterate');
    const afterA = riem.filter((i) => !bothOld.includes(i));

    this.fused = (opts.fused ?? true) && optimizerFusedFits(gpu.device.limits);
    if (this.fused) {
      this.list = this.fusedStep(riem, bothOld);
      return;
    }
    const d: Dispatch[] = [];
    // ALGORITHM.md: gA' = (BᵀB + δI)⁻¹ gA, from B_t, for every Riemannian run.
    const sideA = this.side(riem, 'A');
    // gB' = gB (AAᵀ + δI)⁻¹ from A_t: Riemannian SGD (and the 'old-iterate' order).
    const sideBOld = this.side(bothOld, 'B');
    d.push(...sideA.dispatches, ...sideBOld.dispatches);
    d.push(...this.update('A'));
    // Riemannian AdamW as the paper's code: PB from A_{t+1}, after A's update.
    const sideBNew = this.side(afterA, 'B');
    d.push(...sideBNew.dispatches);
    d.push(...this.update('B'));
    // Cholesky fall-backs of the three solves, counted per run in one dispatch.
    if (riem.length > 0) {
      const [s0, s1, s2] = [sideA, sideBOld, sideBNew];
      d.push(
        gpu.prepare(
          countFallbacks,
          {
            status0: s0.status,
            jobRun0: s0.jobRun,
            status1: s1.status,
            jobRun1: s1.jobRun,
            status2: s2.status,
            jobRun2: s2.jobRun,
            counts: state,
          },
          { count0: s0.count, count1: s1.count, count2: s2.count, R },
        ),
      );
    }
    this.list = d;
  }

  /**
   * The fused step: a job per (run, adapter) in run order, one dispatch. Each job adds its own Cholesky
   * fall-backs to its run's count in state (no countFallbacks dispatch).
   */
  private fusedStep(riem: number[], bothOld: number[]): Dispatch[] {
    const { gpu, layout } = this;
    const R = this.kinds.length;
    const r = layout.r;
    const jobs: FusedJob[] = [];
    for (let run = 0; run < R; run++) {
      for (const ad of layout.adapters) {
        jobs.push({
          run,
          riemannian: riem.includes(run),
          oldB: bothOld.includes(run),
          offA: run * layout.SA + ad.offA,
          inDim: ad.inDim,
          offB: run * layout.SB + ad.offB,
          outDim: ad.outDim,
          damping: this.runs[run].damping,
        });
      }
    }
    const count = jobs.length;
    const own = (b: GPUBuffer): GPUBuffer => {
      this.owned.push(b);
      return b;
    };
    return [
      gpu.prepare(
        optimizerFused,
        {
          A: this.lora.A,
          B: this.lora.B,
          dA: this.lora.dA,
          dB: this.lora.dB,
          mA: this.buffers.mA,
          vA: this.buffers.vA,
          mB: this.buffers.mB,
          vB: this.buffers.vB,
          hyper: this.buffers.hyper,
          jobs: own(gpu.buffer(packFusedJobs(jobs), 'optimizerJobs')),
          P: own(gpu.buffer(2 * count * r * r * 4, 'P')),
          state: this.buffers.state,
        },
        { count, r },
      ),
    ];
  }

  /**
   * Build one batched Gram + Cholesky solve over the given runs, for A's gradient or B's gradient: one
   * fused dispatch (P = FᵀF-side Gram + δI, then the in-place solves), bit for bit gram then
   * choleskySolve.
   */
  private side(runs: number[], which: 'A' | 'B'): PreconditionSide {
    const { layout, gpu } = this;
    const r = layout.r;
    const factorJobs: FactorJob[] = [];
    const rhsJobs: FactorJob[] = [];
    const jobRun: number[] = [];
    for (const run of runs) {
      for (const ad of layout.adapters) {
        const offA = run * layout.SA + ad.offA;
        const offB = run * layout.SB + ad.offB;
        if (which === 'A') {
          factorJobs.push(bTbJob(offB, ad.outDim, r)); // PA = BᵀB + δI
          rhsJobs.push(aAtJob(offA, ad.inDim)); // gA [r, in]: columns are the vectors
        } else {
          factorJobs.push(aAtJob(offA, ad.inDim)); // PB = AAᵀ + δI
          rhsJobs.push(bTbJob(offB, ad.outDim, r)); // gB [out, r]: rows are the vectors
        }
        jobRun.push(run);
      }
    }
    const count = factorJobs.length;
    const own = <T extends GPUBuffer>(b: T): T => {
      this.owned.push(b);
      return b;
    };
    if (count === 0) return { dispatches: [], status: own(gpu.buffer(4)), jobRun: own(gpu.buffer(4)), count };
    const P = own(gpu.buffer(count * r * r * 4, `P${which}`));
    const status = own(gpu.buffer(count * 4, `cholStatus${which}`));
    const fj = own(gpu.buffer(packJobs(factorJobs), `gramJobs${which}`));
    const rj = own(gpu.buffer(packJobs(rhsJobs), `solveJobs${which}`));
    const damping = own(
      gpu.buffer(
        Float32Array.from(jobRun, (run) => this.runs[run].damping),
        `damping${which}`,
      ),
    );
    const jr = own(gpu.buffer(Uint32Array.from(jobRun), `jobRun${which}`));
    // The factor is a parameter and rhs its partner's gradient: always two distinct buffers, as the
    // fused kernel needs (one buffer bound read and read_write in one dispatch is a WebGPU error).
    const factors = which === 'A' ? this.lora.B : this.lora.A;
    const rhs = which === 'A' ? this.lora.dA : this.lora.dB;
    return {
      count,
      status,
      jobRun: jr,
      dispatches: [
        gpu.prepare(
          gramCholeskySolve,
          { factors, gramJobs: fj, damping, P, solveJobs: rj, rhs, status },
          { count, r },
        ),
      ],
    };
  }

  private update(which: 'A' | 'B'): Dispatch[] {
    const R = this.kinds.length;
    const n = which === 'A' ? this.layout.SA : this.layout.SB;
    const p = which === 'A' ? this.lora.A : this.lora.B;
    const g = which === 'A' ? this.lora.dA : this.lora.dB;
    const m = which === 'A' ? this.buffers.mA : this.buffers.mB;
    const v = which === 'A' ? this.buffers.vA : this.buffers.vB;
    const hyper = this.buffers.hyper;
    const side = which === 'A' ? 0 : 1;
    const out: Dispatch[] = [];
    if (this.kinds.some(isAdam))
      out.push(this.gpu.prepare(adamwUpdate, { g, hyper, p, m, v }, { R, n, side }));
    if (this.kinds.some((k) => !isAdam(k)))
      out.push(this.gpu.prepare(sgdUpdate, { g, hyper, p }, { R, n, side }));
    return out;
  }

  dispatches(): Dispatch[] {
    return this.list;
  }

  /** Write this step's per-run hyper-parameters (learning rates, bias corrections, active) to the GPU. */
  writeHyper(steps: readonly RunState[]): void {
    const rows = steps.map((s, i) =>
      hyperRow({
        ...this.runs[i],
        lr: s.lr,
        t: s.t,
        active: s.active,
        rule: isAdam(s.kind) ? 'adamw' : 'sgd',
      }),
    );
    this.gpu.write(this.buffers.hyper, packHyper(rows));
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
  }
}

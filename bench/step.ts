// Training-step benchmarks on the real engine (SweepEngine): a step per optimizer, its phases, the
// preconditioner's share, a sweep over R, dispatch and byte counts, and the step's largest matmul.
import type { Dispatch } from '../src/gpu/context';
import type { LabGptConfig, Weights } from '../src/model/config';
import type { TokenizedDataset } from '../src/data/dataset';
import { DEFAULT_SWEEP, gridRuns, type RunSpec, type SweepConfig } from '../src/train/config';
import { batchSource } from '../src/train/batch';
import { SweepEngine } from '../src/train/sweep';
import { SweepDriver } from '../src/train/driver';
import { planSweep } from '../src/train/memory';
import type { OptimizerKind } from '../src/optim/optimizer';
import type { AttentionChoice, AttentionVariant } from '../src/kernels/attention-variant';
import type { MatmulSplitK } from '../src/model/gpu-model';
import type { BenchGpu } from './gpu';
import { costOf, describe, summarize, type ListSummary } from './cost';
import { median, timeAuto, timeList } from './timer';

export interface StepSetup {
  cfg: LabGptConfig;
  weights: Weights;
  dataset: TokenizedDataset;
  batch: number;
  seq: number;
  /** Steps per timed trial, trials, and untimed steps first. */
  steps: number;
  trials: number;
  warmup: number;
  timing: { targetMs: number; maxReps: number; trials: number };
  /** The engine's attention option (default 'auto'). */
  attention?: AttentionChoice;
  /** The engine's split-K option for the frozen-weight products (default 'auto'). */
  matmulSplitK?: MatmulSplitK;
  /** The engine's fusedTail option (default true): lossGuard and optimizerFused, or the split dispatches. */
  fusedTail?: boolean;
  /** Stamp the wall-clock trials' passes too and log each trial's wall, GPU span and Σ pass (--trial-stamps). */
  trialStamps?: boolean;
  /**
   * After the wall trials, time the step's recorded dispatches resubmitted without submitStep's per-step
   * writes (batch, guard and optimizer parameters): one step a submit, two a submit, all in one pass
   * (--submit-diag). Timing only: every resubmitted step trains on the same batch with the same parameters.
   */
  submitDiag?: boolean;
}

export interface PhaseTimes {
  forward: number;
  backward: number;
  guard: number;
  optimizer: number;
  /** gram + choleskySolve dispatches of the optimizer (the Riemannian preconditioner's solve). */
  gramCholesky: number;
  /** ... plus the fall-back counter the preconditioner also dispatches. */
  preconditioner: number;
  /** The whole step list, back to back in one pass (no submit gaps). */
  step: number;
}

export interface KernelTime {
  what: string;
  count: number;
  ms: number;
  gflops: number;
  gbps: number;
}

export interface StepResult {
  label: string;
  R: number;
  runs: RunSpec[];
  /** The attention kernels the engine ran. */
  attention: AttentionVariant;
  tokensPerStep: number;
  /** Median wall time per step with the engine's own submitStep loop (one submit per step). */
  wallMs: number;
  /** Median GPU time of the engine's submitted step passes (timestamps), when available. */
  gpuMs: number | null;
  /**
   * GPU time per step from the first stamped pass's beginning to the last one's end, steps submitted back to
   * back as in wallMs: minus gpuMs, the GPU's idle time between steps; wallMs minus it, the host's share.
   */
  gpuSpanMs?: number;
  /**
   * Tokens/s of the CLI's and the page's own loop (SweepDriver: at most 3 steps ahead of the GPU, losses read
   * every 250 ms, norms every 10 steps), from its first report (step 1) to its last (when asked: --driver).
   */
  driverTokensPerSec?: number;
  /** --submit-diag: wall ms per step of the recorded step resubmitted without writes (see StepSetup). */
  submitDiagMs?: {
    oneASubmit: number;
    twoASubmit: number;
    onePass: number;
    /** Each mode's GPU span a step and its passes' sum a step (ms), from one stamped trial. */
    gpu: Record<string, { span: number; pass: number }>;
  };
  /** Medians over the wall trials, ms per trial: the submit loop, the wait for the GPU, the error scopes. */
  hostTrialMs?: {
    submit: number;
    done: number;
    scopes: number;
    idleSync: number;
    encode: number;
    prep: number;
  };
  tokensPerSec: number;
  /** GPU memory the sweep allocates (planSweep: the engine's own allocation code, every buffer counted). */
  memoryBytes: number;
  phases: PhaseTimes;
  summary: ListSummary;
  /** Achieved rates over the whole step (GPU pass time). */
  gflops: number;
  gbps: number;
  largestMatmul: { what: string; ms: number; gflops: number };
  /** Per-dispatch isolated times, grouped by kernel and shape, largest first (when asked). */
  topKernels?: KernelTime[];
  /** Σ isolated dispatch times (compare with phases.step: the rest is inter-dispatch overhead). */
  isolatedSumMs?: number;
}

/** The runs of a sweep of R: the CLI's default grid (adamw and riemannian-adamw × learning rates). */
export function sweepRuns(R: number): RunSpec[] {
  if (R === 1) return [{ id: 'riemannian-adamw@0.001', optimizer: 'riemannian-adamw', lr: 1e-3 }];
  const per = Math.ceil(R / 2);
  const lrs = Array.from({ length: per }, (_, i) =>
    Number((1e-4 * Math.pow(100, per === 1 ? 0.5 : i / (per - 1))).toPrecision(3)),
  );
  return gridRuns(['adamw', 'riemannian-adamw'], lrs).slice(0, R);
}

export function singleRun(kind: OptimizerKind, lr = 1e-3): RunSpec[] {
  return [{ id: `${kind}@${lr}`, optimizer: kind, lr }];
}

function makeEngine(
  gpu: BenchGpu,
  s: StepSetup,
  runs: RunSpec[],
  order: 'sequential' | 'shuffled',
  steps = DEFAULT_SWEEP.steps,
  valEvery = DEFAULT_SWEEP.valEvery,
): SweepEngine {
  const config: SweepConfig = { ...DEFAULT_SWEEP, batch: s.batch, seq: s.seq, order, runs, steps, valEvery };
  return new SweepEngine(gpu, s.cfg, s.weights, config, batchSource(s.dataset, config), undefined, {
    attention: s.attention,
    matmulSplitK: s.matmulSplitK,
    fusedTail: s.fusedTail,
  });
}

/**
 * Split a captured step list into forward | backward | guard | optimizer (see SweepEngine.submitStep). With the
 * fused tail the guard is loraReduceGuard (the backward's last dA, the loss sums and the guard: the forward is
 * the first `foldedForward` dispatches, the backward what follows up to it, and the guard phase holds that last
 * dA too) or lossGuard (the loss sums and the guard, right after the loss: the forward then ends before it),
 * and the optimizer starts at keepLastGood, as in the split list.
 */
function phasesOf(
  list: Dispatch[],
  foldedForward: number | null,
): Record<'forward' | 'backward' | 'guard' | 'optimizer', Dispatch[]> {
  const fold = list.findIndex((d) => d.label === 'loraReduceGuard');
  if (fold >= 0 || foldedForward !== null) {
    const opt = list.findIndex((d) => d.label === 'keepLastGood');
    if (foldedForward === null || fold < foldedForward || opt !== fold + 1)
      throw new Error('bench: unexpected step list (loraReduceGuard not right before keepLastGood)');
    return {
      forward: list.slice(0, foldedForward),
      backward: list.slice(foldedForward, fold),
      guard: [list[fold]],
      optimizer: list.slice(opt),
    };
  }
  const lossGuard = list.findIndex((d) => d.label === 'lossGuard');
  if (lossGuard >= 0) {
    const opt = list.findIndex((d) => d.label === 'keepLastGood');
    if (opt < lossGuard) throw new Error('bench: unexpected step list (lossGuard without keepLastGood)');
    return {
      forward: list.slice(0, lossGuard),
      backward: list.slice(lossGuard + 1, opt),
      guard: [list[lossGuard]],
      optimizer: list.slice(opt),
    };
  }
  const endForward = list.findIndex((d) => d.label === 'runSums') + 1;
  const guard = list.findIndex((d) => d.label === 'sweepGuard');
  if (endForward <= 0 || guard < endForward)
    throw new Error('bench: unexpected step list (no loss sum or no guard)');
  return {
    forward: list.slice(0, endForward),
    backward: list.slice(endForward, guard),
    guard: list.slice(guard, guard + 1),
    optimizer: list.slice(guard + 1),
  };
}

async function isolatedTimes(
  gpu: BenchGpu,
  list: Dispatch[],
  s: StepSetup,
): Promise<{ top: KernelTime[]; sum: number }> {
  const groups = new Map<string, { what: string; count: number; ms: number; flops: number; bytes: number }>();
  let sum = 0;
  for (const d of list) {
    if (!d.workgroups.every((w) => w > 0)) continue;
    const t = await timeAuto(gpu, [d], { ...s.timing, trials: Math.min(3, s.timing.trials) });
    const m = gpu.metaOf(d);
    const c = m ? costOf(gpu, m) : { flops: 0, bytes: 0 };
    const what = describe(gpu, d);
    const g = groups.get(what) ?? { what, count: 0, ms: 0, flops: 0, bytes: 0 };
    g.count++;
    g.ms += t.ms;
    g.flops += c.flops;
    g.bytes += c.bytes;
    groups.set(what, g);
    sum += t.ms;
  }
  const top: KernelTime[] = [...groups.values()].map((g) => ({
    what: g.what,
    count: g.count,
    ms: g.ms,
    gflops: g.flops / (g.ms * 1e6),
    gbps: g.bytes / (g.ms * 1e6),
  }));
  top.sort((a, b) => b.ms - a.ms);
  return { top, sum };
}

/**
 * Wall ms per step (median over s.trials trials of s.steps steps) of a recorded step list submitted again
 * as is: one step a submit, two steps a submit, all steps in one pass. What the per-step writes and the
 * submissions themselves cost the GPU, against submitStep's own loop.
 */
async function resubmitted(
  gpu: BenchGpu,
  list: Dispatch[],
  s: StepSetup,
): Promise<{
  oneASubmit: number;
  twoASubmit: number;
  onePass: number;
  gpu: Record<string, { span: number; pass: number }>;
}> {
  // Each mode's GPU span a step and its passes' sum a step, from one stamped trial after its wall trials (span −
  // pass: the GPU's idle time between submissions).
  const gpuTimes: Record<string, { span: number; pass: number }> = {};
  const trial = async (submit: () => void, name: string, submits: number) => {
    const wall: number[] = [];
    for (let t = 0; t < s.trials; t++) {
      const t0 = performance.now();
      submit();
      await gpu.sync('bench submit diagnostics');
      wall.push((performance.now() - t0) / s.steps);
    }
    if (gpu.hasTimestamps) {
      gpu.startStamping(submits);
      submit();
      const passes = await gpu.stopStamping();
      gpuTimes[name] = {
        span: gpu.lastStampSpanNs / 1e6 / s.steps,
        pass: passes.reduce((x, y) => x + y, 0) / 1e6 / s.steps,
      };
    }
    return median(wall);
  };
  const pairs = Math.floor(s.steps / 2);
  if (pairs * 2 !== s.steps) throw new Error('--submit-diag needs an even --steps');
  const two = [...list, ...list];
  const all = Array.from({ length: s.steps }, () => list).flat();
  return {
    oneASubmit: await trial(
      () => {
        for (let i = 0; i < s.steps; i++) gpu.submit('diag one', list);
      },
      'one step a submit',
      s.steps,
    ),
    twoASubmit: await trial(
      () => {
        for (let i = 0; i < pairs; i++) gpu.submit('diag two', two);
      },
      'two a submit',
      pairs,
    ),
    onePass: await trial(() => gpu.submit('diag all', all), 'all in one pass', 1),
    gpu: gpuTimes,
  };
}

export async function benchStep(
  gpu: BenchGpu,
  s: StepSetup,
  label: string,
  runs: RunSpec[],
  opts: { breakdown: boolean },
  log: (line: string) => void,
): Promise<StepResult> {
  const engine = makeEngine(gpu, s, runs, 'shuffled');
  try {
    for (let i = 0; i < s.warmup; i++) engine.submitStep(false);
    await gpu.sync('bench warmup');
    const wall: number[] = [];
    // Where a trial's host time goes (ms per trial): the submit loop, then the wait for the GPU (waitIdle), then
    // the error scopes that sync() also awaits.
    const host = { submit: [] as number[], done: [] as number[], scopes: [] as number[] };
    const stampTrials = !!s.trialStamps && gpu.hasTimestamps;
    for (let t = 0; t < s.trials; t++) {
      if (stampTrials) gpu.startStamping(s.steps);
      const t0 = performance.now();
      for (let i = 0; i < s.steps; i++) engine.submitStep(false);
      const t1 = performance.now();
      // As the engine's own sync waits (patient under Node unless --waits poll: src/gpu/queue-clock.ts).
      await gpu.waitIdle();
      const t2 = performance.now();
      await gpu.sync('bench steps');
      const t3 = performance.now();
      wall.push((t3 - t0) / s.steps);
      host.submit.push(t1 - t0);
      host.done.push(t2 - t1);
      host.scopes.push(t3 - t2);
      if (stampTrials) {
        const passes = await gpu.stopStamping();
        const per = (x: number) => (x / s.steps).toFixed(3);
        log(
          `    trial ${t + 1} (${t0.toFixed(1)}–${t3.toFixed(1)} ms, GPU done at ${t2.toFixed(1)}): wall ${per(t3 - t0)} ms/step, GPU span ${per(gpu.lastStampSpanNs / 1e6)}, Σ pass ${per(passes.reduce((a, b) => a + b, 0) / 1e6)}, slowest pass ${(Math.max(...passes) / 1e6).toFixed(3)}, fastest ${(Math.min(...passes) / 1e6).toFixed(3)}`,
        );
      }
    }
    // The host's round trip on an idle queue: an empty submit, then onSubmittedWorkDone.
    const idleSync: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      gpu.device.queue.submit([gpu.device.createCommandEncoder().finish()]);
      await gpu.device.queue.onSubmittedWorkDone();
      idleSync.push(performance.now() - t0);
    }
    let gpuMs: number | null = null;
    let gpuSpanMs: number | undefined;
    if (gpu.hasTimestamps) {
      gpu.startStamping(s.steps);
      for (let i = 0; i < s.steps; i++) engine.submitStep(false);
      gpuMs = median(await gpu.stopStamping()) / 1e6;
      gpuSpanMs = gpu.lastStampSpanNs / s.steps / 1e6;
    }
    const [list] = gpu.capture(() => engine.submitStep(false));
    // The host's cost of recording a step: its dispatches into a pass and the command buffer finished,
    // never submitted (median of 20).
    const encodeMs: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const enc = gpu.device.createCommandEncoder({ label: 'bench encode only' });
      const pass = enc.beginComputePass();
      for (const d of list) d.encode(pass);
      pass.end();
      enc.finish();
      encodeMs.push(performance.now() - t0);
    }
    // ... and of everything else submitStep does before it records (the batch, its uploads, the parameters).
    const prepMs: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      gpu.capture(() => engine.submitStep(false));
      prepMs.push(performance.now() - t0);
    }
    const submitDiag = s.submitDiag ? await resubmitted(gpu, list, s) : undefined;
    const ph = phasesOf(list, engine.foldedForwardLength);
    // The optimizer fuses Gram and solve (gramCholeskySolve); 'gram' and 'choleskySolve' still count if used.
    // optimizerFused does the preconditioner and both updates in one dispatch: its time is an upper bound.
    const precond = ph.optimizer.filter((d) =>
      ['gramCholeskySolve', 'gram', 'choleskySolve', 'countFallbacks', 'optimizerFused'].includes(d.label),
    );
    const gramChol = precond.filter((d) => d.label !== 'countFallbacks');
    const t = async (l: Dispatch[]) => (l.length ? (await timeAuto(gpu, l, s.timing)).ms : 0);
    const phases: PhaseTimes = {
      step: await t(list),
      forward: await t(ph.forward),
      backward: await t(ph.backward),
      guard: await t(ph.guard),
      optimizer: await t(ph.optimizer),
      preconditioner: await t(precond),
      gramCholesky: await t(gramChol),
    };
    const summary = summarize(gpu, list);
    let biggest: Dispatch | undefined;
    let biggestFlops = 0;
    for (const d of list) {
      const m = gpu.metaOf(d);
      if (!m?.kernel.startsWith('matmul')) continue;
      const f = costOf(gpu, m).flops;
      if (f > biggestFlops) [biggest, biggestFlops] = [d, f];
    }
    const big = biggest
      ? await timeList(gpu, [biggest], { reps: s.timing.maxReps, trials: s.timing.trials })
      : undefined;
    const tokensPerStep = runs.length * s.batch * s.seq;
    const wallMs = median(wall);
    const result: StepResult = {
      label,
      R: runs.length,
      runs,
      attention: engine.attention,
      tokensPerStep,
      wallMs,
      gpuMs,
      gpuSpanMs,
      submitDiagMs: submitDiag,
      hostTrialMs: {
        submit: median(host.submit),
        done: median(host.done),
        scopes: median(host.scopes),
        idleSync: median(idleSync),
        encode: median(encodeMs),
        prep: median(prepMs),
      },
      tokensPerSec: tokensPerStep / (wallMs / 1000),
      // The plan of the engine timed: its attention variant and split-K, not the defaults'.
      memoryBytes: planSweep(
        gpu,
        s.cfg,
        s.weights,
        { ...DEFAULT_SWEEP, batch: s.batch, seq: s.seq, runs },
        undefined,
        {
          attention: s.attention,
          matmulSplitK: s.matmulSplitK,
          fusedTail: s.fusedTail,
        },
      ).bytes,
      phases,
      summary,
      gflops: summary.flops / (phases.step * 1e6),
      gbps: summary.bytes / (phases.step * 1e6),
      largestMatmul: {
        what: biggest ? describe(gpu, biggest) : '-',
        ms: big?.ms ?? NaN,
        gflops: big ? biggestFlops / (big.ms * 1e6) : NaN,
      },
    };
    if (opts.breakdown) {
      const iso = await isolatedTimes(gpu, list, s);
      result.topKernels = iso.top;
      result.isolatedSumMs = iso.sum;
    }
    log(
      `  ${label.padEnd(26)} R=${String(runs.length).padEnd(3)} attention ${engine.attention.padEnd(6)} wall ${wallMs.toFixed(3).padStart(8)} ms  gpu ${(gpuMs ?? NaN).toFixed(3).padStart(8)} ms  span ${(gpuSpanMs ?? NaN).toFixed(3).padStart(8)} ms  ` +
        `pass ${phases.step.toFixed(3).padStart(8)} ms  ${Math.round(result.tokensPerSec).toString().padStart(9)} tok/s  ` +
        `opt ${((100 * phases.optimizer) / phases.step).toFixed(1)}%  gram+chol ${((100 * phases.gramCholesky) / phases.step).toFixed(2)}%  ` +
        `${summary.launched} dispatches  memory ${(result.memoryBytes / 2 ** 20).toFixed(0)} MiB`,
    );
    const h = result.hostTrialMs!;
    log(
      `    host, ms per trial of ${s.steps} steps: submit loop ${h.submit.toFixed(2)}, then GPU done ${h.done.toFixed(2)}, then error scopes ${h.scopes.toFixed(2)}; an empty submit's round trip ${h.idleSync.toFixed(3)}; a step's recording alone ${h.encode.toFixed(3)}, the rest of submitStep before it ${h.prep.toFixed(3)}`,
    );
    if (submitDiag)
      log(
        `    the recorded step resubmitted without per-step writes, wall ms/step: one step a submit ${submitDiag.oneASubmit.toFixed(3)}, two a submit ${submitDiag.twoASubmit.toFixed(3)}, all ${s.steps} in one pass ${submitDiag.onePass.toFixed(3)} (submitStep: ${wallMs.toFixed(3)})`,
      );
    if (submitDiag)
      log(
        `    ... GPU span / Σ pass a step, ms: ${Object.entries(submitDiag.gpu)
          .map(([k, v]) => `${k} ${v.span.toFixed(4)} / ${v.pass.toFixed(4)}`)
          .join(', ')}`,
      );
    return result;
  } finally {
    await gpu.sync('bench step end');
    engine.destroy();
  }
}

/**
 * The product's throughput: a SweepDriver runs `steps` steps as the CLI runs them (reports, norms, the final
 * validation), timed from its first report (after step 1) to its last (after the last step, before the
 * validation). Returns tokens/s.
 */
export async function benchDriver(
  gpu: BenchGpu,
  s: StepSetup,
  runs: RunSpec[],
  steps: number,
  opts: { valEvery?: number; normsEvery?: number; maxInFlight?: number } = {},
): Promise<number> {
  const engine = makeEngine(gpu, s, runs, 'shuffled', steps, opts.valEvery);
  try {
    const reports: { step: number; at: number }[] = [];
    const driver = new SweepDriver(engine, (e) => {
      if (e.type === 'report') reports.push({ step: e.report.steps.at(-1)!, at: performance.now() });
    });
    await driver.run({ normsEvery: opts.normsEvery, maxInFlight: opts.maxInFlight });
    const first = reports[0];
    const last = reports.at(-1)!;
    if (!first || last.step <= first.step) throw new Error('bench driver: fewer than two reports');
    return ((last.step - first.step) * runs.length * s.batch * s.seq) / ((last.at - first.at) / 1000);
  } finally {
    await gpu.sync('bench driver end');
    engine.destroy();
  }
}

/** The first training losses of each run on the sequential batches (compare with the PyTorch peer). */
/**
 * The dispatches of one training step, in submission order (engine built, one step captured, nothing run):
 * `bench.mjs --list-dispatches --rs 1,8` prints them, for work on the dispatch count.
 */
export function listDispatches(gpu: BenchGpu, s: StepSetup, runs: RunSpec[]): string[] {
  const engine = makeEngine(gpu, s, runs, 'shuffled');
  try {
    const [list] = gpu.capture(() => engine.submitStep(false));
    return list.map((d) => `${describe(gpu, d)}  [${d.workgroups.join('×')}]`);
  } finally {
    engine.destroy();
  }
}

export async function firstLosses(
  gpu: BenchGpu,
  s: StepSetup,
  runs: RunSpec[],
  steps: number,
): Promise<Record<string, number[]>> {
  const engine = makeEngine(gpu, s, runs, 'sequential');
  try {
    for (let i = 0; i < steps; i++) engine.submitStep(false);
    const rep = await engine.report(1, steps);
    const out: Record<string, number[]> = {};
    runs.forEach((r, i) => (out[r.id] = rep.losses.map((row) => row[i])));
    return out;
  } finally {
    engine.destroy();
  }
}

// The sweep as the page knows it: the only place engine messages change it.
// Per run: training losses by step with wall-clock seconds, validation points, status, fall-backs.
// Messages arrive a few times a second; each fold only appends the new points (arrays are concatenated,
// never re-sorted), and the charts derive their lines from here, memoised per run revision.
import { AXIS_NAMES, type RunSpec } from '../../train/config';
import type { AdapterData, FromEngine, RunInfo } from '../../train/messages';
import type { SweepResults } from '../../train/results';
import type { OptimizerKind, RunOverrides } from '../../optim/optimizer';

export type RunStatus =
  | { kind: 'waiting' }
  | { kind: 'running' }
  | { kind: 'done' }
  | { kind: 'diverged'; step: number }
  | { kind: 'stopped'; step: number | null };

export interface RunView {
  id: string;
  optimizer: OptimizerKind;
  lr: number;
  /** The run's own hyper-parameters (the second axis of a grid), as far as known. */
  overrides: RunOverrides;
  startStep: number;
  /** Steps, losses and wall-clock seconds, in step order (finite losses only). */
  steps: number[];
  losses: number[];
  seconds: number[];
  validation: { step: number; seconds: number; loss: number }[];
  status: RunStatus;
  choleskyFallbacks: number;
  /** Bumped whenever anything of this run changes (memo key for its chart line). */
  revision: number;
}

export type SweepPhase = 'idle' | 'starting' | 'running' | 'stopping' | 'finished' | 'error';

export interface SweepState {
  phase: SweepPhase;
  sweepId: string | null;
  /** Run ids in the order they joined. */
  order: string[];
  runs: Record<string, RunView>;
  totalSteps: number;
  /** Last step the engine reported. */
  step: number;
  lastSeconds: number;
  stepsPerSec: number;
  tokensPerSec: number;
  tokensPerStep: number;
  /** performance.now() when Start was pressed, and when the first loss point arrived (page clock, ms). */
  startedAtMs: number | null;
  firstLossAtMs: number | null;
  results: SweepResults | null;
  adapters: AdapterData[];
  stopped: boolean;
  error: string | null;
  /** Set when the sweep was reopened from History instead of trained in this tab. */
  fromHistory: boolean;
  /** Something the user should know that is not an error (e.g. a recovery from a lost GPU device). */
  notice: string | null;
  /** Step of the last checkpoint the engine posted (0: none yet). */
  checkpointStep: number;
}

export const IDLE_SWEEP: SweepState = {
  phase: 'idle',
  sweepId: null,
  order: [],
  runs: {},
  totalSteps: 0,
  step: 0,
  lastSeconds: 0,
  stepsPerSec: 0,
  tokensPerSec: 0,
  tokensPerStep: 0,
  startedAtMs: null,
  firstLossAtMs: null,
  results: null,
  adapters: [],
  stopped: false,
  error: null,
  fromHistory: false,
  notice: null,
  checkpointStep: 0,
};

export type SweepAction =
  | { type: 'starting'; sweepId: string; runs: RunSpec[]; totalSteps: number; nowMs: number }
  | { type: 'engine'; messages: FromEngine[]; nowMs: number }
  | { type: 'stopping' }
  | { type: 'reopen'; sweepId: string; results: SweepResults; adapters: AdapterData[]; stopped: boolean }
  /** Resuming a checkpoint: the curves up to its step come from the results it carries. */
  | {
      type: 'resuming';
      sweepId: string;
      results: SweepResults | null;
      totalSteps: number;
      step: number;
      nowMs: number;
    }
  | { type: 'reset' };

const OVERRIDE_KEYS = Object.keys(AXIS_NAMES) as (keyof RunOverrides)[];

/** A run id's parts (`riemannian-adamw@0.001,damping=1e-4`), for runs known only by their id. */
export function parseRunId(id: string): RunSpec {
  const [head, ...axes] = id.split(',');
  const [optimizer, lr] = head.split('@');
  const spec: RunSpec = { id, optimizer: optimizer as OptimizerKind, lr: Number(lr) };
  for (const part of axes) {
    const [name, value] = part.split('=');
    const key = OVERRIDE_KEYS.find((k) => AXIS_NAMES[k] === name);
    if (key && value !== undefined && Number.isFinite(Number(value))) spec[key] = Number(value);
  }
  return spec;
}

function newRun(spec: RunSpec, startStep: number, hyper?: RunOverrides): RunView {
  const overrides: RunOverrides = { ...parseRunId(spec.id) };
  for (const k of OVERRIDE_KEYS) {
    const v = spec[k] ?? hyper?.[k];
    if (v !== undefined) overrides[k] = v;
  }
  return {
    id: spec.id,
    optimizer: spec.optimizer,
    lr: spec.lr,
    overrides: pickOverrides(overrides),
    startStep,
    steps: [],
    losses: [],
    seconds: [],
    validation: [],
    status: { kind: 'waiting' },
    choleskyFallbacks: 0,
    revision: 0,
  };
}

function pickOverrides(o: RunOverrides): RunOverrides {
  const out: RunOverrides = {};
  for (const k of OVERRIDE_KEYS) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

const isLive = (st: RunStatus) => st.kind === 'waiting' || st.kind === 'running';

function mergeRunInfos(s: SweepState, infos: RunInfo[]): SweepState {
  const runs = { ...s.runs };
  const order = [...s.order];
  for (const info of infos) {
    const old = runs[info.spec.id];
    let run = old ?? newRun(info.spec, info.startStep);
    if (!old) order.push(info.spec.id);
    if (info.stoppedAtStep !== null && isLive(run.status))
      run = { ...run, status: { kind: 'stopped', step: info.stoppedAtStep }, revision: run.revision + 1 };
    runs[info.spec.id] = run;
  }
  return { ...s, runs, order };
}

function foldMetrics(s: SweepState, m: Extract<FromEngine, { type: 'metrics' }>, nowMs: number): SweepState {
  const runs = { ...s.runs };
  const order = [...s.order];
  let anyPoint = false;
  m.runIds.forEach((id, i) => {
    let run = runs[id];
    if (!run) {
      // A run we have not heard of (e.g. added from another control): learn it from its id.
      run = newRun(parseRunId(id), m.steps[0] ?? 0);
      order.push(id);
    }
    const steps: number[] = [];
    const losses: number[] = [];
    const seconds: number[] = [];
    m.steps.forEach((step, k) => {
      const loss = m.losses[k]?.[i];
      if (loss !== undefined && Number.isFinite(loss)) {
        steps.push(step);
        losses.push(loss);
        seconds.push(m.seconds[k] ?? 0);
      }
    });
    const fallbacks = m.choleskyFallbacks[i] ?? run.choleskyFallbacks;
    const diverged = m.divergedAtStep[i] ?? null;
    let status = run.status;
    if (diverged !== null && status.kind !== 'diverged') status = { kind: 'diverged', step: diverged };
    else if (steps.length > 0 && status.kind === 'waiting') status = { kind: 'running' };
    if (steps.length === 0 && fallbacks === run.choleskyFallbacks && status === run.status) return;
    anyPoint ||= steps.length > 0;
    runs[id] = {
      ...run,
      steps: steps.length ? run.steps.concat(steps) : run.steps,
      losses: steps.length ? run.losses.concat(losses) : run.losses,
      seconds: steps.length ? run.seconds.concat(seconds) : run.seconds,
      choleskyFallbacks: fallbacks,
      status,
      revision: run.revision + 1,
    };
  });
  const lastStep = m.steps.length ? m.steps[m.steps.length - 1] : s.step;
  return {
    ...s,
    phase: s.phase === 'starting' ? 'running' : s.phase,
    runs,
    order,
    step: Math.max(s.step, lastStep),
    lastSeconds: m.seconds.length ? m.seconds[m.seconds.length - 1] : s.lastSeconds,
    stepsPerSec: m.stepsPerSec,
    tokensPerSec: m.tokensPerSec,
    firstLossAtMs: s.firstLossAtMs ?? (anyPoint ? nowMs : null),
  };
}

function secondsAt(run: RunView, step: number, fallback: number): number {
  // steps are increasing: the last one at or below `step` (validation comes right after its step).
  for (let k = run.steps.length - 1; k >= 0 && k >= run.steps.length - 64; k--)
    if (run.steps[k] <= step) return run.seconds[k];
  return fallback;
}

function foldOne(s: SweepState, m: FromEngine, nowMs: number): SweepState {
  if ('sweepId' in m && m.sweepId !== undefined && s.sweepId !== null && m.sweepId !== s.sweepId) return s;
  switch (m.type) {
    case 'started': {
      const base: SweepState = {
        ...s,
        phase: s.phase === 'stopping' ? 'stopping' : 'running',
        totalSteps: m.totalSteps,
        tokensPerStep: m.tokensPerStep,
      };
      return mergeRunInfos(base, m.runs);
    }
    case 'runsChanged':
      return mergeRunInfos(s, m.runs);
    case 'metrics':
      return foldMetrics(s, m, nowMs);
    case 'validation': {
      const runs = { ...s.runs };
      m.runIds.forEach((id, i) => {
        const run = runs[id];
        const loss = m.losses[i];
        if (!run || !Number.isFinite(loss)) return;
        const point = { step: m.step, seconds: secondsAt(run, m.step, s.lastSeconds), loss };
        runs[id] = { ...run, validation: [...run.validation, point], revision: run.revision + 1 };
      });
      return { ...s, runs };
    }
    case 'diverged': {
      const run = s.runs[m.runId];
      if (!run || run.status.kind === 'diverged') return s;
      return {
        ...s,
        runs: {
          ...s.runs,
          [m.runId]: { ...run, status: { kind: 'diverged', step: m.step }, revision: run.revision + 1 },
        },
      };
    }
    case 'recovered':
      return { ...truncateTo(s, m.fromStep), notice: m.message };
    case 'checkpoint':
      return { ...s, checkpointStep: Math.max(s.checkpointStep, m.step) };
    case 'done':
      return finish(s, m.results, m.adapters, m.stopped);
    case 'error':
      if (m.requestId !== undefined) return s;
      if (s.phase === 'idle' || s.phase === 'finished') return s;
      // Only an error of this sweep ends it; others (a refused "Add run") leave it training.
      if (m.sweepId === undefined) return { ...s, notice: m.message };
      return { ...s, phase: 'error', error: m.message };
    default:
      return s;
  }
}

/** Every run back to `step` (the engine trains the later steps again after a recovery). */
function truncateTo(s: SweepState, step: number): SweepState {
  const runs: Record<string, RunView> = {};
  for (const id of s.order) {
    const run = s.runs[id];
    let n = run.steps.length;
    while (n > 0 && run.steps[n - 1] > step) n--;
    const validation = run.validation.filter((v) => v.step <= step);
    const status: RunStatus =
      run.status.kind === 'diverged' && run.status.step > step ? { kind: 'running' } : run.status;
    runs[id] =
      n === run.steps.length && validation.length === run.validation.length && status === run.status
        ? run
        : {
            ...run,
            steps: run.steps.slice(0, n),
            losses: run.losses.slice(0, n),
            seconds: run.seconds.slice(0, n),
            validation,
            status,
            revision: run.revision + 1,
          };
  }
  return { ...s, runs, step: Math.min(s.step, step) };
}

/** Final statuses and the final validation losses, from the engine's results. */
function finish(s: SweepState, results: SweepResults, adapters: AdapterData[], stopped: boolean): SweepState {
  const runs = { ...s.runs };
  const order = [...s.order];
  for (const r of results.runs) {
    let run = runs[r.id];
    if (!run) {
      run = newRun({ id: r.id, optimizer: r.optimizer as OptimizerKind, lr: r.lr }, r.startStep, r.hyper);
      order.push(r.id);
    }
    let status: RunStatus;
    if (r.divergedAtStep !== null) status = { kind: 'diverged', step: r.divergedAtStep };
    else if (r.stoppedAtStep !== null) status = { kind: 'stopped', step: r.stoppedAtStep };
    else if (run.status.kind === 'stopped' || stopped) status = { kind: 'stopped', step: s.step || null };
    else status = { kind: 'done' };
    const known = new Set(run.validation.map((v) => v.step));
    const extraVal = r.validation
      .filter((v) => !known.has(v.step) && Number.isFinite(v.loss))
      .map((v) => ({ ...v, seconds: secondsAt(run, v.step, results.timings.totalSeconds) }));
    runs[r.id] = {
      ...run,
      status,
      choleskyFallbacks: r.choleskyFallbacks,
      validation: extraVal.length ? [...run.validation, ...extraVal] : run.validation,
      revision: run.revision + 1,
    };
  }
  return { ...s, phase: 'finished', runs, order, results, adapters, stopped };
}

function runsFromResults(results: SweepResults): Record<string, RunView> {
  const perStep = results.timings.secondsPerStep;
  const runs: Record<string, RunView> = {};
  for (const r of results.runs) {
    const run = newRun({ id: r.id, optimizer: r.optimizer as OptimizerKind, lr: r.lr }, r.startStep, r.hyper);
    r.losses.forEach((loss, i) => {
      if (loss === null || !Number.isFinite(loss)) return;
      run.steps.push(i + 1);
      run.losses.push(loss);
      run.seconds.push((i + 1) * perStep);
    });
    run.validation = r.validation.map((v) => ({ ...v, seconds: v.step * perStep }));
    run.choleskyFallbacks = r.choleskyFallbacks;
    if (r.divergedAtStep !== null) run.status = { kind: 'diverged', step: r.divergedAtStep };
    else if (r.stoppedAtStep !== null) run.status = { kind: 'stopped', step: r.stoppedAtStep };
    else run.status = { kind: 'running' };
    runs[r.id] = run;
  }
  return runs;
}

function resuming(a: Extract<SweepAction, { type: 'resuming' }>): SweepState {
  const runs = a.results ? runsFromResults(a.results) : {};
  return {
    ...IDLE_SWEEP,
    phase: 'starting',
    sweepId: a.sweepId,
    runs,
    order: Object.keys(runs),
    totalSteps: a.totalSteps,
    step: a.step,
    lastSeconds: a.results?.timings.totalSeconds ?? 0,
    startedAtMs: a.nowMs,
    checkpointStep: a.step,
    notice: `Resumed from the checkpoint of step ${a.step}.`,
  };
}

/** A stored sweep, rebuilt from its results (losses per step; seconds from the mean step time). */
function reopen(
  sweepId: string,
  results: SweepResults,
  adapters: AdapterData[],
  stopped: boolean,
): SweepState {
  const perStep = results.timings.secondsPerStep;
  const runs = runsFromResults(results);
  const base: SweepState = {
    ...IDLE_SWEEP,
    sweepId,
    runs,
    order: results.runs.map((r) => r.id),
    totalSteps: results.steps,
    step: results.steps,
    lastSeconds: results.timings.totalSeconds,
    stepsPerSec: perStep > 0 ? 1 / perStep : 0,
    tokensPerSec: results.timings.tokensPerSec,
    fromHistory: true,
  };
  return finish(base, results, adapters, stopped);
}

export function sweepReducer(s: SweepState, a: SweepAction): SweepState {
  switch (a.type) {
    case 'starting':
      return {
        ...IDLE_SWEEP,
        phase: 'starting',
        sweepId: a.sweepId,
        order: a.runs.map((r) => r.id),
        runs: Object.fromEntries(a.runs.map((r) => [r.id, newRun(r, 0)])),
        totalSteps: a.totalSteps,
        startedAtMs: a.nowMs,
      };
    case 'engine':
      return a.messages.reduce((acc, m) => foldOne(acc, m, a.nowMs), s);
    case 'stopping':
      return s.phase === 'running' || s.phase === 'starting' ? { ...s, phase: 'stopping' } : s;
    case 'reopen':
      return reopen(a.sweepId, a.results, a.adapters, a.stopped);
    case 'resuming':
      return resuming(a);
    case 'reset':
      return IDLE_SWEEP;
  }
}

export * from './sweep-views';

// Views derived from the sweep state: run statuses in words, progress and ETA, the Runs table's rows.
import type { OptimizerKind } from '../../optim/optimizer';
import { secondValueOf, type SecondAxis } from './second-axis';
import type { RunStatus, SweepState } from './sweep';

export const isActive = (s: SweepState) =>
  s.phase === 'starting' || s.phase === 'running' || s.phase === 'stopping';

export function statusText(st: RunStatus): string {
  switch (st.kind) {
    case 'waiting':
      return 'waiting';
    case 'running':
      return 'running';
    case 'done':
      return 'done';
    case 'diverged':
      return `diverged at step ${st.step}`;
    case 'stopped':
      return st.step !== null ? `stopped at step ${st.step}` : 'stopped';
  }
}

export interface Progress {
  fraction: number;
  etaSeconds: number | null;
  secondsPerStep: number | null;
}

export function progressOf(s: SweepState): Progress {
  const fraction = s.totalSteps > 0 ? Math.min(1, s.step / s.totalSteps) : 0;
  const remaining = Math.max(0, s.totalSteps - s.step);
  return {
    fraction: s.phase === 'finished' ? 1 : fraction,
    etaSeconds: s.stepsPerSec > 0 && s.phase !== 'finished' ? remaining / s.stepsPerSec : null,
    secondsPerStep: s.stepsPerSec > 0 ? 1 / s.stepsPerSec : null,
  };
}

export interface RunRow {
  id: string;
  optimizer: OptimizerKind;
  lr: number;
  /** The run's value on the sweep's second axis (null: none, or the axis leaves its optimizer alone). */
  second: number | null;
  trainLoss: number | null;
  valLoss: number | null;
  bestValLoss: number | null;
  status: RunStatus;
  choleskyFallbacks: number;
}

export function runRows(s: SweepState, axis: SecondAxis = 'none'): RunRow[] {
  return s.order.map((id) => {
    const r = s.runs[id];
    const val = r.validation;
    return {
      id,
      optimizer: r.optimizer,
      lr: r.lr,
      second: secondValueOf(r, axis),
      trainLoss: r.losses.length ? r.losses[r.losses.length - 1] : null,
      valLoss: val.length ? val[val.length - 1].loss : null,
      bestValLoss: val.length ? Math.min(...val.map((v) => v.loss)) : null,
      status: r.status,
      choleskyFallbacks: r.choleskyFallbacks,
    };
  });
}

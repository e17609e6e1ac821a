// "Add run": the run a user asks for while a sweep trains, checked against that sweep before it is sent.
// On a two-axis sweep the run carries its own value of the second hyper-parameter, and its id names it
// as the grid's ids do, so the charts, the heatmap and the table place it like the sweep's other runs.
import type { OptimizerKind } from '../../optim/optimizer';
import { runId, withAxisId, type RunSpec } from '../../train/config';
import { formatLr } from '../charts/formatLr';
import {
  AXIS_SHORT,
  axisApplies,
  axisValueError,
  formatAxisValue,
  secondValueOf,
  type SecondAxis,
} from './second-axis';
import { OPTIMIZER_LABELS } from './settings';
import type { SweepState } from './sweep';

export interface AddRunRequest {
  optimizer: OptimizerKind;
  lr: number;
  /** The run's value on the sweep's second axis; ignored where the axis leaves the optimizer alone. */
  second?: number;
}

/** An error in words, and the field it belongs beside (null: the request as a whole). */
export interface AddRunError {
  field: 'lr' | 'second' | null;
  message: string;
}

/** The run to send for a request, or why there is none. */
export function addedRun(
  sweep: SweepState,
  axis: SecondAxis,
  req: AddRunRequest,
): { run: RunSpec } | { error: AddRunError } {
  const { optimizer, lr } = req;
  if (!(lr > 0 && Number.isFinite(lr)))
    return { error: { field: 'lr', message: 'The learning rate must be a number above 0.' } };
  let run: RunSpec = { id: runId(optimizer, lr), optimizer, lr };
  let second: number | null = null;
  if (axis !== 'none' && axisApplies(axis, optimizer)) {
    second = req.second ?? NaN;
    const bad = axisValueError(axis, second, 'the');
    if (bad) return { error: { field: 'second', message: bad } };
    run = { ...run, id: withAxisId(run.id, axis, second), [axis]: second };
  }
  const same = Object.values(sweep.runs).some(
    (r) => r.optimizer === optimizer && r.lr === lr && secondValueOf(r, axis) === second,
  );
  if (same || sweep.runs[run.id]) {
    const withSecond =
      second !== null && axis !== 'none' ? ` with ${AXIS_SHORT[axis]} ${formatAxisValue(second)}` : '';
    const message = `${OPTIMIZER_LABELS[optimizer]} at ${formatLr(lr)}${withSecond} is already in the sweep.`;
    return { error: { field: null, message } };
  }
  return { run };
}

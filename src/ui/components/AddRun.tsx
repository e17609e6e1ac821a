// "Add run": an optimizer and a learning rate (and, on a two-axis sweep, the second hyper-parameter's
// value) that join the running sweep at its next step.
import { useState } from 'react';
import { OPTIMIZERS, type OptimizerKind } from '../../optim/optimizer';
import type { AddRunError, AddRunRequest } from '../state/add-run';
import {
  AXIS_HINTS,
  AXIS_LABELS,
  AXIS_SHORT,
  axisApplies,
  formatAxisValue,
  type SecondAxis,
} from '../state/second-axis';
import { OPTIMIZER_LABELS } from '../state/settings';

export interface AddRunProps {
  active: boolean;
  /** The sweep's second axis, and its values (the new run's starts at the first). */
  axis: SecondAxis;
  axisValues: readonly number[];
  /** Returns an error and the field it belongs to, or null when the run was sent. */
  onAddRun: (request: AddRunRequest) => AddRunError | null;
}

/** A typed number; blank is not 0. */
const parseNumber = (text: string) => (text.trim() === '' ? NaN : Number(text));

export function AddRun({ active, axis, axisValues, onAddRun }: AddRunProps) {
  const [optimizer, setOptimizer] = useState<OptimizerKind>('riemannian-adamw');
  const [lr, setLr] = useState('3e-3');
  const firstValue = axisValues[0] !== undefined ? formatAxisValue(axisValues[0]) : '';
  const [second, setSecond] = useState(firstValue);
  // Another sweep (or other settings before one starts): its first value again (adjusted while
  // rendering, not in an effect). During a sweep its values stay, and so does what the user typed.
  const sweepKey = `${axis}:${firstValue}`;
  const [secondOf, setSecondOf] = useState(sweepKey);
  if (secondOf !== sweepKey) {
    setSecondOf(sweepKey);
    setSecond(firstValue);
  }
  const [error, setError] = useState<AddRunError | null>(null);
  const errorSpan = (field: AddRunError['field']) =>
    error?.field === field && (
      <span id={`add-err-${field ?? 'run'}`} role="alert" className="field-error">
        {error.message}
      </span>
    );
  const swept = axis !== 'none';
  const applies = swept && axisApplies(axis, optimizer);
  return (
    <form
      className="add-run"
      aria-label="Add run"
      onSubmit={(e) => {
        e.preventDefault();
        setError(
          onAddRun({ optimizer, lr: Number(lr), ...(applies ? { second: parseNumber(second) } : {}) }),
        );
      }}
    >
      <label className="sr-only" htmlFor="add-opt">
        Optimizer of the new run
      </label>
      <select
        id="add-opt"
        value={optimizer}
        disabled={!active}
        onChange={(e) => setOptimizer(e.target.value as OptimizerKind)}
      >
        {OPTIMIZERS.map((o) => (
          <option key={o} value={o}>
            {OPTIMIZER_LABELS[o]}
          </option>
        ))}
      </select>
      <label className="sr-only" htmlFor="add-lr">
        Learning rate of the new run
      </label>
      <input
        id="add-lr"
        className="lr-input"
        type="text"
        inputMode="decimal"
        value={lr}
        disabled={!active}
        aria-invalid={error?.field === 'lr' ? true : undefined}
        aria-describedby={error?.field === 'lr' ? 'add-err-lr' : undefined}
        onChange={(e) => setLr(e.target.value)}
      />
      {errorSpan('lr')}
      {swept && (
        <>
          <label htmlFor="add-second" className="add-second-label" title={AXIS_LABELS[axis]}>
            <span aria-hidden="true">{AXIS_SHORT[axis]}</span>
            <span className="sr-only">{`${AXIS_LABELS[axis]} of the new run`}</span>
          </label>
          <input
            id="add-second"
            className="lr-input"
            type="text"
            inputMode="decimal"
            // Where the axis leaves the optimizer alone the run has no value: the field says so.
            value={applies ? second : ''}
            placeholder={applies ? undefined : 'n/a'}
            title={applies ? undefined : AXIS_HINTS[axis]}
            disabled={!active || !applies}
            aria-invalid={error?.field === 'second' ? true : undefined}
            aria-describedby={error?.field === 'second' ? 'add-err-second' : undefined}
            onChange={(e) => setSecond(e.target.value)}
          />
          {errorSpan('second')}
        </>
      )}
      <button type="submit" disabled={!active}>
        + Add run
      </button>
      {errorSpan(null)}
    </form>
  );
}

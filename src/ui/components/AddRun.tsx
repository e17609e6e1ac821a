// "Add run": an optimizer and a learning rate that join the running sweep at its next step.
import { useState } from 'react';
import { OPTIMIZERS, type OptimizerKind } from '../../optim/optimizer';
import { OPTIMIZER_LABELS } from '../state/settings';

export interface AddRunProps {
  active: boolean;
  /** Returns an error message, or null when the run was sent. */
  onAddRun: (optimizer: OptimizerKind, lr: number) => string | null;
}

export function AddRun({ active, onAddRun }: AddRunProps) {
  const [optimizer, setOptimizer] = useState<OptimizerKind>('riemannian-adamw');
  const [lr, setLr] = useState('3e-3');
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      className="add-run"
      aria-label="Add run"
      onSubmit={(e) => {
        e.preventDefault();
        setError(onAddRun(optimizer, Number(lr)));
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
        onChange={(e) => setLr(e.target.value)}
      />
      <button type="submit" disabled={!active}>
        + Add run
      </button>
      {error && (
        <span role="alert" className="field-error">
          {error}
        </span>
      )}
    </form>
  );
}

// A sweep that was training when the tab closed or reloaded: resume it from its last checkpoint.
import type { StoredCheckpoint } from '../state/history';

export interface InterruptedProps {
  checkpoint: StoredCheckpoint;
  disabled: boolean;
  /** Why it cannot resume on the model open now (another model of its name), or null. */
  problem: string | null;
  onResume: () => void;
  onDiscard: () => void;
}

export function Interrupted({ checkpoint: c, disabled, problem, onResume, onDiscard }: InterruptedProps) {
  const file = c.settings.dataset.kind === 'file' ? c.settings.dataset.name : null;
  return (
    <section className="panel interrupted" aria-labelledby="interrupted-title">
      <h2 id="interrupted-title">Interrupted sweep</h2>
      <p>
        A sweep on {c.settings.model} was training when this page closed: it is saved at step {c.step} of{' '}
        {c.totalSteps} ({new Date(c.savedAt).toLocaleString()}).
        {file && ` It trained on your file “${file}”: upload it again before resuming.`}
      </p>
      {problem && <p role="alert">{problem}</p>}
      <div className="buttons">
        <button type="button" className="primary" disabled={disabled || problem !== null} onClick={onResume}>
          Resume from step {c.step}
        </button>
        <button type="button" onClick={onDiscard}>
          Discard
        </button>
      </div>
    </section>
  );
}

export interface StartStopProps {
  canStart: boolean;
  /** Why Start is disabled (shown beside it), or null. */
  reason: string | null;
  running: boolean;
  onStart: () => void;
  onStop: () => void;
}

export function StartStop({ canStart, reason, running, onStart, onStop }: StartStopProps) {
  return (
    <div className="start-stop">
      <div className="buttons">
        <button
          type="button"
          className="primary"
          disabled={!canStart}
          aria-describedby={reason ? 'start-reason' : undefined}
          onClick={onStart}
        >
          Start sweep
        </button>
        <button type="button" disabled={!running} onClick={onStop}>
          Stop
        </button>
      </div>
      {reason && (
        <p id="start-reason" className="hint" role="status">
          {reason}
        </p>
      )}
    </div>
  );
}

// Past sweeps kept in this browser (IndexedDB): reopen or delete.
import { formatLr } from '../charts/formatLr';
import type { SweepSummary } from '../state/history';
import { OPTIMIZER_LABELS } from '../state/settings';
import type { OptimizerKind } from '../../optim/optimizer';

export interface HistoryProps {
  items: SweepSummary[];
  openId: string | null;
  error: string | null;
  onOpen: (id: string) => void;
  onDelete: (id: string) => void;
  disabled: boolean;
}

export function History({ items, openId, error, onOpen, onDelete, disabled }: HistoryProps) {
  return (
    <section className="panel history" id="history" aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      {error && (
        <p role="alert" className="field-error">
          {error}
        </p>
      )}
      {items.length === 0 ? (
        <p className="hint">Finished and stopped sweeps are kept here, in this browser only.</p>
      ) : (
        <ul className="history-list" aria-label="Past sweeps">
          {items.map((h) => (
            <li key={h.id} className={h.id === openId ? 'current' : undefined}>
              <div>
                <strong>{new Date(h.savedAt).toLocaleString()}</strong>
                {h.stopped && <span className="tag">stopped</span>}
                <div className="hint">
                  {h.model} · {h.dataset} · {h.runCount} runs · {h.steps} steps
                  {h.best &&
                    ` · best ${OPTIMIZER_LABELS[h.best.optimizer as OptimizerKind] ?? h.best.optimizer} @ ${formatLr(h.best.lr)}: ${h.best.loss.toFixed(3)}`}
                </div>
              </div>
              <div className="history-actions">
                <button
                  type="button"
                  className="small"
                  disabled={disabled}
                  onClick={() => onOpen(h.id)}
                  aria-label={`Open sweep of ${new Date(h.savedAt).toLocaleString()}`}
                >
                  Open
                </button>
                <button
                  type="button"
                  className="small danger"
                  disabled={disabled}
                  onClick={() => onDelete(h.id)}
                  aria-label={`Delete sweep of ${new Date(h.savedAt).toLocaleString()}`}
                >
                  Delete
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

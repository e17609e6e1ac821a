// Learning-rate robustness: final (or best) validation loss against learning rate, per optimizer.
import { memo } from 'react';
import { formatLr } from '../charts/formatLr';
import type { RobustnessLine } from '../charts/types';
import type { RobustMetric } from '../state/settings';

export interface RobustnessProps {
  lines: RobustnessLine[];
  metric: RobustMetric;
  onMetric: (m: RobustMetric) => void;
}

export const Robustness = memo(function Robustness({ lines, metric, onMetric }: RobustnessProps) {
  return (
    <section className="panel chart-panel robustness" aria-label="Learning-rate robustness section">
      <div className="panel-head">
        <label className="inline">
          Metric
          <select value={metric} onChange={(e) => onMetric(e.target.value as RobustMetric)}>
            <option value="final">final validation loss</option>
            <option value="best">best validation loss</option>
          </select>
        </label>
      </div>
      <figure aria-label="Learning-rate robustness">
        <figcaption>Learning-rate robustness</figcaption>
        <ul>
          {lines.map((l) => (
            <li key={l.id} data-run-id={l.id}>
              {l.label}:{' '}
              {l.points
                .map(
                  (p) =>
                    `${formatLr(p.lr)} → ${p.diverged ? 'diverged' : p.loss === null ? '—' : p.loss.toFixed(3)}`,
                )
                .join(', ')}
            </li>
          ))}
        </ul>
      </figure>
    </section>
  );
});

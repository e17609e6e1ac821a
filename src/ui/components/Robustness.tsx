// Learning-rate robustness: final (or best) validation loss against learning rate, per optimizer.
import { memo } from 'react';
import { ChartFrame, RobustnessChart, type RobustnessLine } from '../charts';
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
          <span className="sr-only">Robustness metric</span>
          <select value={metric} onChange={(e) => onMetric(e.target.value as RobustMetric)}>
            <option value="final">final validation loss</option>
            <option value="best">best validation loss</option>
          </select>
        </label>
      </div>
      <ChartFrame title="Learning-rate robustness" filename="lora-lab-robustness">
        <RobustnessChart title="Learning-rate robustness" lines={lines} metric={metric} height={250} />
      </ChartFrame>
    </section>
  );
});

// Two-axis sweep: one heatmap per optimizer the second axis acts on (learning rate × second value),
// with one colour scale shared by all of them. Shown only when the sweep has a second axis.
import { memo } from 'react';
import { ChartFrame, formatLr, Heatmap } from '../charts';
import type { HeatmapData } from '../state/chart-data';
import { AXIS_LABELS, formatAxisValue, type SecondAxis } from '../state/second-axis';
import type { RobustMetric } from '../state/settings';

export interface HeatmapsProps {
  maps: HeatmapData[];
  colorDomain: [number, number];
  axis: SecondAxis;
  metric: RobustMetric;
}

export const Heatmaps = memo(function Heatmaps({ maps, colorDomain, axis, metric }: HeatmapsProps) {
  if (axis === 'none' || maps.length === 0) return null;
  return (
    <section className="panel heatmaps" aria-label="Heatmaps">
      <p className="hint">
        {metric === 'final' ? 'Final' : 'Best'} validation loss over learning rate × {AXIS_LABELS[axis]}; one
        colour scale for all panels (brighter = lower), ✕ = diverged, outlined = best.
      </p>
      <div className={`heatmap-grid n${Math.min(maps.length, 3)}`}>
        {maps.map((m) => (
          <div className="chart-panel" key={m.optimizer}>
            <ChartFrame title={m.title} filename={`lora-lab-heatmap-${m.optimizer}`}>
              <Heatmap
                title={m.title}
                xLabel="learning rate"
                yLabel={AXIS_LABELS[axis]}
                xValues={m.xValues}
                yValues={m.yValues}
                cells={m.cells}
                colorDomain={colorDomain}
                formatX={formatLr}
                formatY={formatAxisValue}
                height={220}
              />
            </ChartFrame>
          </div>
        ))}
      </div>
    </section>
  );
});

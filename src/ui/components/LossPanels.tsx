// One LossPanel per optimizer, side by side, with shared axes (computed in state/chart-data.ts).
import { memo } from 'react';
import { ChartFrame, LossPanel } from '../charts';
import type { LossPanelsData } from '../state/chart-data';
import type { ChartOptions } from '../state/settings';

export interface LossPanelsProps {
  data: LossPanelsData;
  chart: ChartOptions;
  /** Shown over a panel without lines (e.g. before the first sweep). */
  emptyHint: string;
}

export const LossPanels = memo(function LossPanels({ data, chart, emptyHint }: LossPanelsProps) {
  return (
    <div className={`loss-panels n${data.panels.length}`}>
      {data.panels.map((p) => (
        <div className="panel chart-panel" key={p.optimizer}>
          <ChartFrame title={p.title} filename={`lora-lab-loss-${p.optimizer}`}>
            <LossPanel
              title={p.title}
              lines={p.lines}
              xLabel={data.xLabel}
              xDomain={data.xDomain}
              yDomain={data.yDomain}
              yScale={chart.yScale}
              smoothing={chart.smoothing}
              height={260}
            />
          </ChartFrame>
          {p.lines.length === 0 && <p className="empty-hint">{emptyHint}</p>}
        </div>
      ))}
    </div>
  );
});

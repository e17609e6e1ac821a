import type { PlotArea } from './layout';
import { THEME } from './layout';
import type { Scale } from './scale';

interface AxisProps {
  scale: Scale;
  plot: PlotArea;
  ticks: number[];
  format: (v: number) => string;
  label: string;
  /** Draw grid lines across the plot at each tick. */
  grid?: boolean;
}

const TICK = 4;

/** Bottom axis: baseline, ticks, labels, title centred below. */
export function AxisBottom({ scale, plot, ticks, format, label, grid = true }: AxisProps) {
  const y0 = plot.top + plot.height;
  return (
    <g className="chart-axis chart-axis-x" fontFamily={THEME.font} fontSize={THEME.fontSize}>
      {ticks.map((t) => {
        const x = scale.map(t);
        if (!Number.isFinite(x)) return null;
        return (
          <g key={t}>
            {grid && <line x1={x} x2={x} y1={plot.top} y2={y0} stroke={THEME.grid} />}
            <line x1={x} x2={x} y1={y0} y2={y0 + TICK} stroke={THEME.axis} />
            <text x={x} y={y0 + TICK + 11} textAnchor="middle" fill={THEME.muted}>
              {format(t)}
            </text>
          </g>
        );
      })}
      <line x1={plot.left} x2={plot.left + plot.width} y1={y0} y2={y0} stroke={THEME.axis} />
      <text x={plot.left + plot.width / 2} y={y0 + 32} textAnchor="middle" fill={THEME.text}>
        {label}
      </text>
    </g>
  );
}

/** Left axis: baseline, ticks, labels, title rotated along the axis. */
export function AxisLeft({ scale, plot, ticks, format, label, grid = true }: AxisProps) {
  const x0 = plot.left;
  return (
    <g className="chart-axis chart-axis-y" fontFamily={THEME.font} fontSize={THEME.fontSize}>
      {ticks.map((t) => {
        const y = scale.map(t);
        if (!Number.isFinite(y)) return null;
        return (
          <g key={t}>
            {grid && <line x1={x0} x2={x0 + plot.width} y1={y} y2={y} stroke={THEME.grid} />}
            <line x1={x0 - TICK} x2={x0} y1={y} y2={y} stroke={THEME.axis} />
            <text x={x0 - TICK - 3} y={y} dy="0.32em" textAnchor="end" fill={THEME.muted}>
              {format(t)}
            </text>
          </g>
        );
      })}
      <line x1={x0} x2={x0} y1={plot.top} y2={plot.top + plot.height} stroke={THEME.axis} />
      {label && (
        <text
          transform={`translate(${x0 - 40} ${plot.top + plot.height / 2}) rotate(-90)`}
          textAnchor="middle"
          fill={THEME.text}
        >
          {label}
        </text>
      )}
    </g>
  );
}

/** About one tick per `px` pixels, at least 2. */
export function tickCount(lengthPx: number, px: number): number {
  return Math.max(2, Math.floor(lengthPx / px));
}

/** One axis of an x/y chart: its scale, tick labels and title; ticks every `tickPx` pixels (default 45). */
interface AxisSpec {
  scale: Scale;
  format: (v: number) => string;
  label: string;
  tickPx?: number;
}

/** The left and bottom axes of an x/y chart, with as many ticks as the plot has room for. */
export function PlotAxes({ plot, x, y }: { plot: PlotArea; x: AxisSpec; y: AxisSpec }) {
  return (
    <>
      <AxisLeft
        scale={y.scale}
        plot={plot}
        ticks={y.scale.ticks(tickCount(plot.height, y.tickPx ?? 45))}
        format={y.format}
        label={y.label}
      />
      <AxisBottom
        scale={x.scale}
        plot={plot}
        ticks={x.scale.ticks(tickCount(plot.width, x.tickPx ?? 45))}
        format={x.format}
        label={x.label}
      />
    </>
  );
}

// Plain data fed to the chart components. The charts know nothing of the engine or the Worker:
// the UI derives these shapes from its sweep state and hands them down.

export interface ChartPoint {
  x: number;
  y: number;
}

export interface LossLine {
  /** Run id, unique among the lines of one panel. */
  id: string;
  /** Legend / tooltip text, e.g. "lr 1e-3". */
  label: string;
  /** Same learning rate → same colour in every panel (see lrColor). */
  color: string;
  /** strokeDasharray, used to style a second hyper-parameter axis. */
  dash?: string;
  /** All raw training-loss points (x = step or seconds); finite y only. */
  points: ChartPoint[];
  validation: ChartPoint[];
  /** The line ends here with a marker. */
  divergedAt?: ChartPoint;
}

export type YScale = 'linear' | 'log';

export interface LossPanelProps {
  /** Visible heading and the figure's accessible name, e.g. "Loss — AdamW". */
  title: string;
  lines: LossLine[];
  /** "step" or "time (s)". */
  xLabel: string;
  xDomain: [number, number];
  /** Shared by all panels (robustYDomain over every panel's lines). */
  yDomain: [number, number];
  yScale: YScale;
  /** EMA weight in [0, 0.999]; 0 = raw only. */
  smoothing: number;
  /** Drawing budget per line, default 500. */
  maxPointsPerLine?: number;
  /** Fixed size (tests); otherwise responsive. */
  width?: number;
  height?: number;
}

export interface RobustnessPoint {
  lr: number;
  loss: number | null;
  diverged: boolean;
}

export interface RobustnessLine {
  id: string;
  label: string;
  color: string;
  dash?: string;
  points: RobustnessPoint[];
}

export interface RobustnessChartProps {
  title: string;
  lines: RobustnessLine[];
  metric: 'final' | 'best';
  width?: number;
  height?: number;
}

export interface HeatmapCell {
  x: number;
  y: number;
  value: number | null;
  diverged: boolean;
}

export interface HeatmapProps {
  title: string;
  xLabel: string;
  yLabel: string;
  xValues: number[];
  yValues: number[];
  cells: HeatmapCell[];
  colorDomain: [number, number];
  width?: number;
  height?: number;
}

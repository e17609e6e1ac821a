import { useCallback, useId, useMemo, useState, type KeyboardEvent, type PointerEvent } from 'react';
import { PlotAxes } from './Axes';
import { ChartLegend } from './ChartLegend';
import { formatLoss } from './formatLr';
import { ChartFigure, ChartSvg } from './Figure';
import { plotArea } from './layout';
import { deriveLine, nearestIndex, tooltipRows } from './lossSeries';
import { LossRuns } from './LossRuns';
import { LossTooltip } from './LossTooltip';
import { RunSummaryTable } from './RunSummaryTable';
import { makeScale } from './scale';
import type { LossLine, LossPanelProps } from './types';
import { useChartSize } from './useChartSize';

export interface LossPanelExtraProps {
  /** Show the legend under the chart (default true). */
  showLegend?: boolean;
  /** Y axis title (default "loss"). */
  yLabel?: string;
}

const DEFAULT_WIDTH = 520;
const DEFAULT_HEIGHT = 300;

/**
 * Training loss of a set of runs: per run the smoothed curve over its faint raw curve, validation
 * losses as dots, a ✕ where a run diverged. Hand-drawn SVG (see README.md in this folder for why
 * not recharts). Readable by tests: each run is a <g data-run-id>, the figure carries
 * data-points (total raw points) and data-runs.
 */
export function LossPanel(props: LossPanelProps & LossPanelExtraProps) {
  const { title, lines, xLabel, xDomain, yDomain, yScale, smoothing, showLegend = true } = props;
  const budget = Math.max(2, props.maxPointsPerLine ?? 500);
  const size = useChartSize(props, DEFAULT_WIDTH, DEFAULT_HEIGHT);
  const { width, height } = size;
  const w = Math.min(0.999, Math.max(0, smoothing));

  const derived = useMemo(() => lines.map((l) => deriveLine(l, w, budget)), [lines, w, budget]);
  const plot = useMemo(() => plotArea(width, height), [width, height]);
  const [x0, x1] = xDomain;
  const [y0, y1] = yDomain;
  const sx = useMemo(
    () => makeScale('linear', [x0, x1], [plot.left, plot.left + plot.width]),
    [x0, x1, plot],
  );
  const sy = useMemo(
    () => makeScale(yScale, [y0, y1], [plot.top + plot.height, plot.top]),
    [yScale, y0, y1, plot],
  );
  const formatX = useCallback(
    (x: number) => (xLabel === 'step' ? `step ${x}` : `${formatLoss(x)} s`),
    [xLabel],
  );

  const [hoverX, setHoverX] = useState<number | null>(null);
  const rows = useMemo(() => (hoverX === null ? [] : tooltipRows(derived, hoverX)), [derived, hoverX]);
  const onMove = (e: PointerEvent<SVGRectElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    if (r.width <= 0) return;
    setHoverX(sx.invert(plot.left + ((e.clientX - r.left) / r.width) * plot.width));
  };

  // Keyboard twin of hovering: ←/→ step through the longest run's x values, Home/End jump, Esc clears.
  const onKey = (e: KeyboardEvent<SVGSVGElement>) => {
    const longest = lines.reduce<LossLine | null>(
      (a, l) => (!a || l.points.length > a.points.length ? l : a),
      null,
    );
    const pts = longest?.points ?? [];
    if (pts.length === 0) return;
    const i = hoverX === null ? pts.length - 1 : nearestIndex(pts, hoverX);
    const step = e.shiftKey ? Math.max(1, Math.round(pts.length / 20)) : 1;
    const to: Record<string, number> = {
      ArrowLeft: hoverX === null ? i : Math.max(0, i - step),
      ArrowRight: hoverX === null ? i : Math.min(pts.length - 1, i + step),
      Home: 0,
      End: pts.length - 1,
    };
    if (e.key === 'Escape') setHoverX(null);
    else if (e.key in to) setHoverX(pts[to[e.key]].x);
    else return;
    e.preventDefault();
  };

  const clipId = `loss-clip-${useId().replace(/[^a-zA-Z0-9_-]/g, '')}`;
  const totalPoints = lines.reduce((n, l) => n + l.points.length, 0);
  const hoverPx = rows.length > 0 ? sx.map(rows[0].x) : null;

  return (
    <ChartFigure
      title={title}
      className="chart loss-panel"
      data-chart="loss"
      data-points={totalPoints}
      data-runs={lines.length}
      data-y-scale={yScale}
      size={size}
    >
      <div style={{ position: 'relative', width: props.width ?? '100%', height }}>
        <ChartSvg
          size={size}
          tabIndex={0}
          onKeyDown={onKey}
          onBlur={() => setHoverX(null)}
          aria-label={`${title}: ${lines.length} runs, ${xLabel} on x, loss (${yScale}) on y; arrow keys read the values`}
          style={{ overflow: 'visible' }}
        >
          <defs>
            <clipPath id={clipId}>
              <rect x={plot.left} y={plot.top} width={plot.width} height={plot.height} />
            </clipPath>
          </defs>
          <PlotAxes
            plot={plot}
            x={{ scale: sx, format: formatLoss, label: xLabel, tickPx: 80 }}
            y={{ scale: sy, format: formatLoss, label: props.yLabel ?? 'loss' }}
          />
          <LossRuns
            derived={derived}
            sx={sx}
            sy={sy}
            plot={plot}
            clipId={clipId}
            smoothing={w}
            formatX={formatX}
          />
          {hoverPx !== null && (
            <g className="hover-guide" pointerEvents="none">
              <line x1={hoverPx} x2={hoverPx} y1={plot.top} y2={plot.top + plot.height} stroke="#9aa3af" />
              {rows.map((r) => {
                const cy = sy.map(r.value);
                return Number.isFinite(cy) && cy >= plot.top && cy <= plot.top + plot.height ? (
                  <circle key={r.id} cx={hoverPx} cy={cy} r={3} fill={r.color} stroke="#fff" />
                ) : null;
              })}
            </g>
          )}
          <rect
            className="hover-target"
            x={plot.left}
            y={plot.top}
            width={plot.width}
            height={plot.height}
            fill="transparent"
            onPointerMove={onMove}
            onPointerLeave={() => setHoverX(null)}
          />
        </ChartSvg>
        {hoverPx !== null && (
          <LossTooltip
            rows={rows}
            heading={formatX(rows[0].x)}
            left={hoverPx}
            top={plot.top}
            flipAt={plot.left + plot.width * 0.6}
            showRaw={w > 0}
          />
        )}
      </div>
      {showLegend && (
        <ChartLegend
          items={lines.map((l) => ({ key: l.id, label: l.label, color: l.color, dash: l.dash }))}
        />
      )}
      <RunSummaryTable title={title} lines={lines} xLabel={xLabel} />
    </ChartFigure>
  );
}

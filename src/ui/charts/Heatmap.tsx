import { useId, useMemo } from 'react';
import { formatLoss, formatLr } from './formatLr';
import { ChartFigure, ChartSvg } from './Figure';
import { THEME } from './layout';
import type { HeatmapCell, HeatmapProps } from './types';
import { useChartSize } from './useChartSize';
import { lossFill, textOn, viridis } from './viridis';

export interface HeatmapExtraProps {
  formatX?: (v: number) => string;
  formatY?: (v: number) => string;
}

const DEFAULT_WIDTH = 520;
const DEFAULT_HEIGHT = 300;
const MARGIN = { top: 8, right: 12, bottom: 74, left: 64 };
const LEGEND_STOPS = 11;

/**
 * Two-axis sweep as a grid: learning rate on x, a second hyper-parameter on y (both ascending),
 * each cell coloured by its loss on the shared colorDomain (lower is better = brighter), its value
 * printed, diverged cells hatched with a ✕, the best cell outlined. Readable by tests: every cell
 * is a <g class="heatmap-cell"> with data-x, data-y, data-value and data-diverged.
 */
export function Heatmap(props: HeatmapProps & HeatmapExtraProps) {
  const { title, xLabel, yLabel, colorDomain, formatX = formatLr, formatY = formatLr } = props;
  const size = useChartSize(props, DEFAULT_WIDTH, DEFAULT_HEIGHT);
  const { width, height } = size;
  const xs = useMemo(() => [...new Set(props.xValues)].sort((a, b) => a - b), [props.xValues]);
  const ys = useMemo(() => [...new Set(props.yValues)].sort((a, b) => a - b), [props.yValues]);
  const ids = useId().replace(/[^a-zA-Z0-9_-]/g, '');
  const hatchId = `hm-hatch-${ids}`;
  const gradId = `hm-grad-${ids}`;

  const plotW = Math.max(1, width - MARGIN.left - MARGIN.right);
  const plotH = Math.max(1, height - MARGIN.top - MARGIN.bottom);
  const cw = plotW / Math.max(1, xs.length);
  const ch = plotH / Math.max(1, ys.length);
  const cellAt = (c: HeatmapCell) => ({
    x: MARGIN.left + xs.indexOf(c.x) * cw,
    y: MARGIN.top + (ys.length - 1 - ys.indexOf(c.y)) * ch,
  });
  const cells = props.cells.filter((c) => xs.includes(c.x) && ys.includes(c.y));
  const best = cells.reduce<HeatmapCell | null>(
    (b, c) =>
      !c.diverged && c.value !== null && Number.isFinite(c.value) && (b === null || c.value < b.value!)
        ? c
        : b,
    null,
  );
  const showValues = cw >= 30 && ch >= 16;
  const legendY = MARGIN.top + plotH + 44;
  const legendW = Math.min(240, plotW);
  // Label every k-th column / row when the labels would otherwise overlap (~6.5 px per character).
  const widest = Math.max(0, ...xs.map((v) => formatX(v).length)) * 6.5 + 6;
  const xEvery = Math.max(1, Math.ceil(widest / cw));
  const yEvery = Math.max(1, Math.ceil(14 / ch));

  return (
    <ChartFigure
      title={title}
      className="chart heatmap"
      data-chart="heatmap"
      data-cells={cells.length}
      size={size}
    >
      <ChartSvg
        size={size}
        aria-label={`${title}: ${yLabel} against ${xLabel}, ${cells.length} cells`}
        fontFamily={THEME.font}
        fontSize={THEME.fontSize}
      >
        <defs>
          <pattern
            id={hatchId}
            patternUnits="userSpaceOnUse"
            width={6}
            height={6}
            patternTransform="rotate(45)"
          >
            <rect width={6} height={6} fill="#f4f4f5" />
            <line x1={0} y1={0} x2={0} y2={6} stroke={THEME.diverged} strokeOpacity={0.35} strokeWidth={2} />
          </pattern>
          <linearGradient id={gradId} x1={0} x2={1} y1={0} y2={0}>
            {Array.from({ length: LEGEND_STOPS }, (_, i) => (
              <stop key={i} offset={i / (LEGEND_STOPS - 1)} stopColor={viridis(1 - i / (LEGEND_STOPS - 1))} />
            ))}
          </linearGradient>
        </defs>
        {cells.map((c) => {
          const { x, y } = cellAt(c);
          const has = !c.diverged && c.value !== null && Number.isFinite(c.value);
          const fill = c.diverged ? `url(#${hatchId})` : has ? lossFill(c.value!, colorDomain) : '#f4f4f5';
          const text = c.diverged ? '✕' : has ? formatLoss(c.value!) : '–';
          const textFill = c.diverged ? THEME.diverged : has ? textOn(fill) : THEME.muted;
          return (
            <g
              key={`${c.x}|${c.y}`}
              className="heatmap-cell"
              data-x={c.x}
              data-y={c.y}
              data-value={c.value ?? ''}
              data-diverged={c.diverged ? 'true' : 'false'}
            >
              <title>{`${xLabel} ${formatX(c.x)}, ${yLabel} ${formatY(c.y)}: ${c.diverged ? 'diverged' : text}`}</title>
              <rect
                x={x + 0.5}
                y={y + 0.5}
                width={Math.max(0, cw - 1)}
                height={Math.max(0, ch - 1)}
                fill={fill}
              />
              {(showValues || c.diverged) && (
                <text x={x + cw / 2} y={y + ch / 2} dy="0.35em" textAnchor="middle" fill={textFill}>
                  {text}
                </text>
              )}
            </g>
          );
        })}
        {best && (
          <rect
            className="heatmap-best"
            x={cellAt(best).x + 1}
            y={cellAt(best).y + 1}
            width={Math.max(0, cw - 2)}
            height={Math.max(0, ch - 2)}
            fill="none"
            stroke="#1f2328"
            strokeWidth={2}
          >
            <title>best</title>
          </rect>
        )}
        {xs.map((v, i) =>
          i % xEvery !== 0 ? null : (
            <text
              key={v}
              x={MARGIN.left + (i + 0.5) * cw}
              y={MARGIN.top + plotH + 14}
              textAnchor="middle"
              fill={THEME.muted}
            >
              {formatX(v)}
            </text>
          ),
        )}
        <text x={MARGIN.left + plotW / 2} y={MARGIN.top + plotH + 30} textAnchor="middle" fill={THEME.text}>
          {xLabel}
        </text>
        {ys.map((v, i) =>
          i % yEvery !== 0 ? null : (
            <text
              key={v}
              x={MARGIN.left - 6}
              y={MARGIN.top + (ys.length - 0.5 - i) * ch}
              dy="0.32em"
              textAnchor="end"
              fill={THEME.muted}
            >
              {formatY(v)}
            </text>
          ),
        )}
        <text
          transform={`translate(${14} ${MARGIN.top + plotH / 2}) rotate(-90)`}
          textAnchor="middle"
          fill={THEME.text}
        >
          {yLabel}
        </text>
        <g className="heatmap-legend" transform={`translate(${MARGIN.left} ${legendY})`}>
          <rect width={legendW} height={8} fill={`url(#${gradId})`} />
          <text x={0} y={20} fill={THEME.muted}>
            {formatLoss(colorDomain[0])}
          </text>
          <text x={legendW} y={20} textAnchor="end" fill={THEME.muted}>
            {formatLoss(colorDomain[1])}
          </text>
          <text x={legendW / 2} y={20} textAnchor="middle" fill={THEME.text}>
            loss · lower is better
          </text>
        </g>
      </ChartSvg>
    </ChartFigure>
  );
}

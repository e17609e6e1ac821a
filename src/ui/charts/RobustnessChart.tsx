import { useId, useMemo } from 'react';
import { PlotAxes } from './Axes';
import { ChartLegend } from './ChartLegend';
import { formatLoss, formatLr } from './formatLr';
import { ChartFigure, ChartSvg } from './Figure';
import { plotArea, THEME, VISUALLY_HIDDEN } from './layout';
import { makeScale, type Scale } from './scale';
import type { RobustnessChartProps, RobustnessLine, YScale } from './types';
import { useChartSize } from './useChartSize';

export interface RobustnessChartExtraProps {
  /** Loss axis scale (default linear). */
  yScale?: YScale;
  showLegend?: boolean;
}

const DEFAULT_WIDTH = 520;
const DEFAULT_HEIGHT = 280;
/** Diverged runs sit in a band this far above the plot. */
const BAND = 22;
const MARGIN = { top: 12 + BAND, right: 16, bottom: 40, left: 52 };

/**
 * Validation loss (final or best) against learning rate on a log axis, one line per optimizer;
 * a diverged run is a ✕ in the band above the plot at its learning rate. Readable by tests: each
 * line is a <g data-run-id>, each point has data-lr, data-loss and data-diverged.
 */
export function RobustnessChart(props: RobustnessChartProps & RobustnessChartExtraProps) {
  const { title, lines, metric, yScale = 'linear', showLegend = true } = props;
  const size = useChartSize(props, DEFAULT_WIDTH, DEFAULT_HEIGHT);
  const { width, height } = size;
  const plot = useMemo(() => plotArea(width, height, MARGIN), [width, height]);
  const { xDomain, yDomain } = useMemo(() => domains(lines, yScale), [lines, yScale]);
  const sx = useMemo(() => makeScale('log', xDomain, [plot.left, plot.left + plot.width]), [xDomain, plot]);
  const sy = useMemo(
    () => makeScale(yScale, yDomain, [plot.top + plot.height, plot.top]),
    [yScale, yDomain, plot],
  );
  const clipId = `rob-clip-${useId().replace(/[^a-zA-Z0-9_-]/g, '')}`;
  const yLabel = `${metric} validation loss`;
  const bandY = plot.top - BAND / 2 - 2;
  const anyDiverged = lines.some((l) => l.points.some((p) => p.diverged));

  return (
    <ChartFigure
      title={title}
      className="chart robustness-chart"
      data-chart="robustness"
      data-metric={metric}
      data-runs={lines.length}
      size={size}
    >
      <ChartSvg size={size} aria-label={`${title}: ${yLabel} against learning rate, ${lines.length} lines`}>
        <defs>
          <clipPath id={clipId}>
            <rect x={plot.left - 6} y={plot.top - 6} width={plot.width + 12} height={plot.height + 12} />
          </clipPath>
        </defs>
        <PlotAxes
          plot={plot}
          x={{ scale: sx, format: formatLr, label: 'learning rate (log)', tickPx: 70 }}
          y={{ scale: sy, format: formatLoss, label: yLabel }}
        />
        {anyDiverged && (
          <g className="diverged-band" fontFamily={THEME.font} fontSize={10}>
            <line
              x1={plot.left}
              x2={plot.left + plot.width}
              y1={plot.top - 3}
              y2={plot.top - 3}
              stroke={THEME.grid}
              strokeDasharray="2 3"
            />
            <text x={plot.left - 6} y={bandY} dy="0.32em" textAnchor="end" fill={THEME.diverged}>
              diverged
            </text>
          </g>
        )}
        {lines.map((line, i) => (
          <RobustnessSeries
            key={line.id}
            line={line}
            sx={sx}
            sy={sy}
            clipId={clipId}
            bandY={bandY}
            jitter={(i - (lines.length - 1) / 2) * 10}
          />
        ))}
      </ChartSvg>
      {showLegend && (
        <ChartLegend
          items={lines.map((l) => ({ key: l.id, label: l.label, color: l.color, dash: l.dash }))}
        />
      )}
      <table style={VISUALLY_HIDDEN} className="chart-summary">
        <caption>{`${title}: ${yLabel} per learning rate`}</caption>
        <tbody>
          {lines.flatMap((l) =>
            l.points.map((p) => (
              <tr key={`${l.id}@${p.lr}`}>
                <th scope="row">{`${l.label} lr ${formatLr(p.lr)}`}</th>
                <td>{p.diverged ? 'diverged' : p.loss === null ? '–' : formatLoss(p.loss)}</td>
              </tr>
            )),
          )}
        </tbody>
      </table>
    </ChartFigure>
  );
}

interface SeriesProps {
  line: RobustnessLine;
  sx: Scale;
  sy: Scale;
  clipId: string;
  bandY: number;
  jitter: number;
}

function RobustnessSeries({ line, sx, sy, clipId, bandY, jitter }: SeriesProps) {
  const pts = [...line.points].sort((a, b) => a.lr - b.lr);
  const ok = (p: (typeof pts)[number]) => !p.diverged && p.loss !== null && Number.isFinite(p.loss);
  let d = '';
  let pen = false;
  for (const p of pts) {
    const x = sx.map(p.lr);
    const y = ok(p) ? sy.map(p.loss!) : NaN;
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`;
    pen = true;
  }
  const best = pts
    .filter(ok)
    .reduce<(typeof pts)[number] | null>((b, p) => (b === null || p.loss! < b.loss! ? p : b), null);

  return (
    <g data-run-id={line.id} className="robustness-line">
      <path
        d={d}
        clipPath={`url(#${clipId})`}
        fill="none"
        stroke={line.color}
        strokeWidth={1.75}
        strokeDasharray={line.dash}
      />
      {pts.map((p) => {
        const x = sx.map(p.lr);
        if (!Number.isFinite(x)) return null;
        const common = {
          'data-lr': p.lr,
          'data-loss': p.loss ?? '',
          'data-diverged': p.diverged ? 'true' : 'false',
        };
        const name = `${line.label}, lr ${formatLr(p.lr)}`;
        if (p.diverged) {
          const cx = x + jitter;
          return (
            <g key={p.lr} className="diverged-marker" {...common}>
              <title>{`${name}: diverged`}</title>
              <path
                d={`M${cx - 4},${bandY - 4}L${cx + 4},${bandY + 4}M${cx - 4},${bandY + 4}L${cx + 4},${bandY - 4}`}
                stroke={line.color}
                strokeWidth={2}
                strokeLinecap="round"
              />
            </g>
          );
        }
        if (!ok(p)) return null;
        const y = sy.map(p.loss!);
        return (
          <g key={p.lr} className="robustness-point" {...common}>
            <title>{`${name}: ${formatLoss(p.loss!)}`}</title>
            <circle cx={x} cy={y} r={3.25} fill={line.color} stroke="#ffffff" strokeWidth={1} />
            {p === best && (
              <circle cx={x} cy={y} r={6.5} fill="none" stroke={line.color} strokeWidth={1.25} />
            )}
          </g>
        );
      })}
    </g>
  );
}

function domains(
  lines: RobustnessLine[],
  yScale: YScale,
): { xDomain: [number, number]; yDomain: [number, number] } {
  const lrs = lines.flatMap((l) => l.points.map((p) => p.lr)).filter((v) => v > 0 && Number.isFinite(v));
  const losses = lines
    .flatMap((l) => l.points)
    .filter(
      (p) => !p.diverged && p.loss !== null && Number.isFinite(p.loss) && (yScale === 'linear' || p.loss > 0),
    )
    .map((p) => p.loss!);
  const lo = lrs.length ? Math.min(...lrs) : 1e-4;
  const hi = lrs.length ? Math.max(...lrs) : 1e-1;
  // Half a step of the LR grid beyond each end, at least a factor 1.5, so end points are not on the frame.
  const f = Math.max(1.5, Math.sqrt(hi / lo) ** (1 / Math.max(1, new Set(lrs).size - 1)));
  const xDomain: [number, number] = [lo / f, hi * f];
  if (losses.length === 0) return { xDomain, yDomain: yScale === 'log' ? [0.1, 10] : [0, 1] };
  const ymin = Math.min(...losses);
  const ymax = Math.max(...losses);
  if (yScale === 'log') {
    const g = ymax > ymin ? Math.pow(ymax / ymin, 0.08) : 1.2;
    return { xDomain, yDomain: [ymin / g, ymax * g] };
  }
  const pad = (ymax - ymin || Math.abs(ymax) || 1) * 0.08;
  return { xDomain, yDomain: [Math.max(ymin >= 0 ? 0 : -Infinity, ymin - pad), ymax + pad] };
}

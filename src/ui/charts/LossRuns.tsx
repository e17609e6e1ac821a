import { memo } from 'react';
import { THEME, type PlotArea } from './layout';
import { linePath, type DerivedLine } from './lossSeries';
import type { Scale } from './scale';

interface LossRunsProps {
  derived: DerivedLine[];
  sx: Scale;
  sy: Scale;
  plot: PlotArea;
  clipId: string;
  smoothing: number;
  /** Text for the x of a divergence: "step 92" or "12.3 s". */
  formatX: (x: number) => string;
}

/** Most divergence labels drawn in one panel; past that only the ✕ (with a <title>). */
const MAX_DIVERGED_LABELS = 4;

/**
 * The runs of a loss panel: per run a <g data-run-id> holding the faint raw curve, the smoothed
 * curve, the validation dots and, for a diverged run, the ✕ marker. Memoised so hovering does not
 * redraw 64 paths.
 */
export const LossRuns = memo(function LossRuns({
  derived,
  sx,
  sy,
  plot,
  clipId,
  smoothing,
  formatX,
}: LossRunsProps) {
  const bottom = plot.top + plot.height;
  const clampY = (y: number) => Math.min(bottom, Math.max(plot.top, y));
  const markers = derived
    .filter((d) => d.line.divergedAt)
    .map((d) => {
      const at = d.line.divergedAt!;
      const y = sy.map(at.y);
      // The run's last drawn point, joined to the marker so the jump reads as one line.
      const last = d.smoothDraw[d.smoothDraw.length - 1];
      const lx = last ? sx.map(last.x) : NaN;
      const ly = last ? sy.map(last.y) : NaN;
      const from: [number, number] | null =
        Number.isFinite(lx) && Number.isFinite(ly) ? [lx, clampY(ly)] : null;
      return { d, mx: sx.map(at.x), my: Number.isFinite(y) ? clampY(y) : plot.top, at, from };
    })
    .sort((a, b) => a.my - b.my);
  const labelY = new Map<string, number>();
  let prev = -Infinity;
  for (const m of markers.slice(0, MAX_DIVERGED_LABELS)) {
    const y = Math.max(m.my - 7, prev + 13, plot.top + 9);
    labelY.set(m.d.line.id, y);
    prev = y;
  }
  const markerById = new Map(markers.map((m) => [m.d.line.id, m]));

  return (
    <g className="loss-runs">
      <g clipPath={`url(#${clipId})`}>
        {derived.map((d) => {
          const { line } = d;
          return (
            <g
              key={line.id}
              data-run-id={line.id}
              data-raw-points={line.points.length}
              data-drawn-points={d.rawDraw.length}
              data-diverged={line.divergedAt ? 'true' : 'false'}
            >
              {smoothing > 0 && (
                <path
                  d={linePath(d.rawDraw, sx, sy)}
                  fill="none"
                  stroke={line.color}
                  strokeOpacity={0.22}
                  strokeWidth={1}
                  strokeLinejoin="round"
                />
              )}
              <path
                className="loss-line"
                d={linePath(d.smoothDraw, sx, sy)}
                fill="none"
                stroke={line.color}
                strokeWidth={1.75}
                strokeDasharray={line.dash}
                strokeLinejoin="round"
                strokeLinecap="round"
              >
                <title>{line.label}</title>
              </path>
              {line.validation.map((p) => {
                const cx = sx.map(p.x);
                const cy = sy.map(p.y);
                if (!Number.isFinite(cx) || !Number.isFinite(cy)) return null;
                return (
                  <circle
                    key={p.x}
                    className="val-dot"
                    cx={cx}
                    cy={cy}
                    r={2.75}
                    fill={line.color}
                    stroke="#ffffff"
                    strokeWidth={0.75}
                  />
                );
              })}
            </g>
          );
        })}
      </g>
      {derived.map(({ line }) => {
        const m = markerById.get(line.id);
        if (!m || !Number.isFinite(m.mx)) return null;
        const ly = labelY.get(line.id);
        const right = m.mx > plot.left + plot.width * 0.65;
        const text = `diverged @ ${formatX(m.at.x)}`;
        return (
          <g
            key={line.id}
            className="diverged-marker"
            data-diverged-run-id={line.id}
            data-diverged-at={m.at.x}
            fontFamily={THEME.font}
            fontSize={THEME.fontSize}
          >
            <title>{`${line.label}: ${text}`}</title>
            {m.from && (
              <line
                x1={m.from[0]}
                y1={m.from[1]}
                x2={m.mx}
                y2={m.my}
                stroke={line.color}
                strokeWidth={1.25}
                strokeDasharray="3 3"
              />
            )}
            <circle cx={m.mx} cy={m.my} r={6} fill="#ffffff" stroke={THEME.diverged} strokeWidth={1.5} />
            <path
              d={`M${m.mx - 3},${m.my - 3}L${m.mx + 3},${m.my + 3}M${m.mx - 3},${m.my + 3}L${m.mx + 3},${m.my - 3}`}
              stroke={THEME.diverged}
              strokeWidth={1.75}
              strokeLinecap="round"
            />
            {ly !== undefined && (
              <text
                x={right ? m.mx - 9 : m.mx + 9}
                y={ly}
                dy="0.32em"
                textAnchor={right ? 'end' : 'start'}
                fill={THEME.diverged}
                stroke="#ffffff"
                strokeWidth={3}
                paintOrder="stroke"
              >
                {`✕ ${line.label} ${text}`}
              </text>
            )}
          </g>
        );
      })}
    </g>
  );
});

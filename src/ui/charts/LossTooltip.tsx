import { THEME } from './layout';
import { formatLoss } from './formatLr';
import type { TooltipRow } from './lossSeries';

const MAX_ROWS = 14;

interface LossTooltipProps {
  rows: TooltipRow[];
  heading: string;
  /** Anchor in pixels inside the chart box; the box flips to the left past `flipAt`. */
  left: number;
  top: number;
  flipAt: number;
  showRaw: boolean;
}

/** Hover card: every run's value at the hovered x, lowest first. */
export function LossTooltip({ rows, heading, left, top, flipAt, showRaw }: LossTooltipProps) {
  const shown = rows.slice(0, MAX_ROWS);
  const flip = left > flipAt;
  return (
    <div
      className="chart-tooltip"
      role="status"
      style={{
        position: 'absolute',
        top,
        left: flip ? undefined : left + 12,
        right: flip ? `calc(100% - ${left - 12}px)` : undefined,
        pointerEvents: 'none',
        background: 'rgba(255,255,255,0.96)',
        border: '1px solid #d7dbe0',
        borderRadius: 4,
        boxShadow: '0 2px 6px rgba(0,0,0,0.12)',
        padding: '4px 8px',
        fontSize: 11,
        color: THEME.text,
        whiteSpace: 'nowrap',
        zIndex: 2,
      }}
    >
      <div style={{ fontWeight: 600, marginBottom: 2 }}>{heading}</div>
      <table style={{ borderCollapse: 'collapse', fontSize: 11, color: THEME.text }}>
        <thead>
          <tr style={{ color: THEME.muted, fontWeight: 400 }}>
            <th />
            <th style={{ textAlign: 'left', fontWeight: 400 }}>run</th>
            <th style={{ textAlign: 'right', fontWeight: 400 }}>{showRaw ? 'smoothed' : 'loss'}</th>
            {showRaw && <th style={{ textAlign: 'right', fontWeight: 400, paddingLeft: 6 }}>raw</th>}
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => (
            <tr key={r.id} data-tooltip-run-id={r.id}>
              <td style={{ paddingRight: 4 }}>
                <span
                  style={{
                    display: 'inline-block',
                    width: 10,
                    height: 3,
                    background: r.color,
                    verticalAlign: 'middle',
                  }}
                />
              </td>
              <td style={{ paddingRight: 8 }}>{r.label}</td>
              <td style={{ textAlign: 'right', fontVariantNumeric: 'tabular-nums' }}>
                {formatLoss(r.value)}
              </td>
              {showRaw && (
                <td
                  style={{
                    textAlign: 'right',
                    color: THEME.muted,
                    paddingLeft: 6,
                    fontVariantNumeric: 'tabular-nums',
                  }}
                >
                  {formatLoss(r.raw)}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length > shown.length && (
        <div style={{ color: THEME.muted }}>+{rows.length - shown.length} more</div>
      )}
    </div>
  );
}

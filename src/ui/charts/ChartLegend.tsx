import { THEME } from './layout';

export interface LegendItem {
  key: string;
  label: string;
  color: string;
  dash?: string;
}

/** One swatch per distinct (label, colour, dash); HTML so long legends wrap. */
export function ChartLegend({ items }: { items: LegendItem[] }) {
  const seen = new Set<string>();
  const unique = items.filter((it) => {
    const k = `${it.label}\u0000${it.color}\u0000${it.dash ?? ''}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  if (unique.length === 0) return null;
  return (
    <ul
      className="chart-legend"
      style={{
        display: 'flex',
        flexWrap: 'wrap',
        gap: '2px 12px',
        listStyle: 'none',
        margin: '2px 0 0',
        padding: 0,
        fontSize: 11,
        color: THEME.text,
      }}
    >
      {unique.map((it) => (
        <li
          key={it.key}
          data-legend-color={it.color}
          style={{ display: 'inline-flex', alignItems: 'center', gap: 4 }}
        >
          <svg width={18} height={8} aria-hidden="true">
            <line x1={1} x2={17} y1={4} y2={4} stroke={it.color} strokeWidth={2} strokeDasharray={it.dash} />
          </svg>
          {it.label}
        </li>
      ))}
    </ul>
  );
}

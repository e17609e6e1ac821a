// The "Runs" table: one row per run; sortable by clicking headers; a checkbox shows/hides the run's
// line in the charts; "Stop" while it trains.
import { useMemo, useState } from 'react';
import { isRiemannian, type OptimizerKind } from '../../optim/optimizer';
import { formatLr } from '../charts/formatLr';
import { lrColor } from '../charts/colors';
import { formatLossCell } from '../format';
import { OPTIMIZER_LABELS } from '../state/settings';
import { statusText, type RunRow } from '../state/sweep';
import { AXIS_LABELS, AXIS_SHORT, formatAxisValue, type SecondAxis } from '../state/second-axis';

const SHORT_LABELS: Record<OptimizerKind, string> = {
  adamw: 'AdamW',
  'riemannian-adamw': 'R-AdamW',
  sgd: 'SGD',
  'riemannian-sgd': 'R-SGD',
  'loraplus-adamw': 'LoRA+',
};

type SortKey = 'optimizer' | 'lr' | 'second' | 'trainLoss' | 'valLoss' | 'status' | 'choleskyFallbacks';

const COLUMNS: { key: SortKey; label: string; title?: string; numeric?: boolean }[] = [
  { key: 'optimizer', label: 'Optimizer' },
  { key: 'lr', label: 'LR', numeric: true },
  { key: 'trainLoss', label: 'Train loss', numeric: true },
  { key: 'valLoss', label: 'Val loss', numeric: true },
  { key: 'status', label: 'Status' },
  { key: 'choleskyFallbacks', label: 'Chol. fall-backs', numeric: true },
];

export interface RunsTableProps {
  rows: RunRow[];
  /** The sweep's second axis: its values get a column after the learning rate. */
  axis?: SecondAxis;
  allLrs: number[];
  hidden: ReadonlySet<string>;
  canStop: boolean;
  onToggle: (id: string, visible: boolean) => void;
  onStop: (id: string) => void;
  /** The "Add run" form, shown in the panel's head. */
  addRun?: React.ReactNode;
}

function sortValue(r: RunRow, key: SortKey): number | string {
  switch (key) {
    case 'optimizer':
      return r.optimizer;
    case 'status':
      return statusText(r.status);
    case 'second':
      return r.second ?? -Infinity;
    default:
      return r[key] ?? Infinity;
  }
}

export function RunsTable({
  rows,
  axis = 'none',
  allLrs,
  hidden,
  canStop,
  onToggle,
  onStop,
  addRun,
}: RunsTableProps) {
  const columns =
    axis === 'none'
      ? COLUMNS
      : [
          ...COLUMNS.slice(0, 2),
          { key: 'second' as const, label: AXIS_SHORT[axis], title: AXIS_LABELS[axis], numeric: true },
          ...COLUMNS.slice(2),
        ];
  const [sort, setSort] = useState<{ key: SortKey; dir: 1 | -1 } | null>(null);
  const sorted = useMemo(() => {
    if (!sort) return rows;
    return [...rows].sort((a, b) => {
      const x = sortValue(a, sort.key);
      const y = sortValue(b, sort.key);
      return (x < y ? -1 : x > y ? 1 : 0) * sort.dir;
    });
  }, [rows, sort]);
  return (
    <section className="panel runs" aria-labelledby="runs-title">
      <div className="panel-head">
        <h2 id="runs-title">Runs</h2>
        {addRun}
      </div>
      {rows.length === 0 ? (
        <p className="hint">Start a sweep: each run (optimizer × learning rate) gets a row here.</p>
      ) : (
        <div className="table-scroll">
          <table aria-label="Runs">
            <thead>
              <tr>
                <th scope="col">
                  <span className="sr-only">Shown in charts</span>
                </th>
                {columns.map((c) => (
                  <th
                    key={c.key}
                    scope="col"
                    title={c.title}
                    className={c.numeric ? 'num' : undefined}
                    aria-sort={sort?.key === c.key ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none'}
                  >
                    <button
                      type="button"
                      className="sort"
                      onClick={() =>
                        setSort((s) => ({ key: c.key, dir: s?.key === c.key && s.dir === 1 ? -1 : 1 }))
                      }
                    >
                      {c.label}
                      <span aria-hidden="true">
                        {sort?.key === c.key ? (sort.dir === 1 ? ' ▲' : ' ▼') : ''}
                      </span>
                    </button>
                  </th>
                ))}
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((r) => {
                const live = r.status.kind === 'running' || r.status.kind === 'waiting';
                const name =
                  `${OPTIMIZER_LABELS[r.optimizer]} lr ${formatLr(r.lr)}` +
                  (axis !== 'none' && r.second !== null
                    ? ` ${AXIS_SHORT[axis]} ${formatAxisValue(r.second)}`
                    : '');
                return (
                  <tr key={r.id} data-run-id={r.id}>
                    <td>
                      <input
                        type="checkbox"
                        checked={!hidden.has(r.id)}
                        aria-label={`Show ${name} in the charts`}
                        onChange={(e) => onToggle(r.id, e.target.checked)}
                      />
                    </td>
                    <td title={OPTIMIZER_LABELS[r.optimizer]}>{SHORT_LABELS[r.optimizer]}</td>
                    <td className="num">
                      <span
                        className="swatch"
                        style={{ background: lrColor(r.lr, allLrs) }}
                        aria-hidden="true"
                      />
                      {formatLr(r.lr)}
                    </td>
                    {axis !== 'none' && (
                      <td className="num">{r.second === null ? '–' : formatAxisValue(r.second)}</td>
                    )}
                    <td className="num">{formatLossCell(r.trainLoss)}</td>
                    <td className="num">{formatLossCell(r.valLoss)}</td>
                    <td className={`status status-${r.status.kind}`}>{statusText(r.status)}</td>
                    <td className="num">{isRiemannian(r.optimizer) ? r.choleskyFallbacks : '–'}</td>
                    <td>
                      {live && canStop && (
                        <button
                          type="button"
                          className="small"
                          aria-label={`Stop ${name}`}
                          onClick={() => onStop(r.id)}
                        >
                          Stop
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

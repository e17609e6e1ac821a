import { formatLoss } from './formatLr';
import { VISUALLY_HIDDEN } from './layout';
import type { LossLine } from './types';

/** Visually hidden text twin of a loss panel: per run its last values and status. */
export function RunSummaryTable({
  title,
  lines,
  xLabel,
}: {
  title: string;
  lines: LossLine[];
  xLabel: string;
}) {
  return (
    <table style={VISUALLY_HIDDEN} className="chart-summary">
      <caption>{`${title}: last value per run`}</caption>
      <thead>
        <tr>
          <th scope="col">run</th>
          <th scope="col">{`last ${xLabel}`}</th>
          <th scope="col">last loss</th>
          <th scope="col">best validation</th>
          <th scope="col">status</th>
        </tr>
      </thead>
      <tbody>
        {lines.map((l) => {
          const last = l.points[l.points.length - 1];
          const bestVal = l.validation.reduce((m, p) => (p.y < m ? p.y : m), Infinity);
          return (
            <tr key={l.id} data-summary-run-id={l.id}>
              <th scope="row">{l.label}</th>
              <td>{last ? String(last.x) : '–'}</td>
              <td>{last ? formatLoss(last.y) : '–'}</td>
              <td>{Number.isFinite(bestVal) ? formatLoss(bestVal) : '–'}</td>
              <td>{l.divergedAt ? `diverged @ ${l.divergedAt.x}` : 'ok'}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

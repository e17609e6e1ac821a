// Exports: a run's adapter (PEFT zip), the merged model (ONNX, or a safetensors checkpoint folder zipped), and the
// sweep's results as JSON and CSV.
import { useState } from 'react';
import type { SampleChoice } from './Samples';

export interface ExportsProps {
  runs: SampleChoice[];
  defaultRun: string | null;
  hasResults: boolean;
  onAdapter: (runId: string) => Promise<void>;
  onMerged: (runId: string) => Promise<void>;
  onMergedSafetensors: (runId: string) => Promise<void>;
  onJson: () => void;
  onCsv: () => void;
}

export function Exports(p: ExportsProps) {
  const [pick, setPick] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const run = pick && p.runs.some((r) => r.id === pick) ? pick : (p.defaultRun ?? p.runs[0]?.id ?? '');
  const act = async (what: string, f: (id: string) => Promise<void>) => {
    setBusy(what);
    setError(null);
    try {
      await f(run);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(null);
    }
  };
  return (
    <section className="panel exports" aria-labelledby="exports-title">
      <h2 id="exports-title">Exports</h2>
      <div className="export-row">
        <label htmlFor="export-run">Run</label>
        <select
          id="export-run"
          value={run}
          disabled={p.runs.length === 0}
          onChange={(e) => setPick(e.target.value)}
        >
          {p.runs.length === 0 && <option value="">no finished run yet</option>}
          {p.runs.map((r) => (
            <option key={r.id} value={r.id}>
              {r.label}
            </option>
          ))}
        </select>
        <button type="button" disabled={!run || busy !== null} onClick={() => act('adapter', p.onAdapter)}>
          {busy === 'adapter' ? 'Packing…' : 'Download adapter (PEFT zip)'}
        </button>
        <button type="button" disabled={!run || busy !== null} onClick={() => act('merged', p.onMerged)}>
          {busy === 'merged' ? 'Merging…' : 'Download merged ONNX'}
        </button>
        <button
          type="button"
          disabled={!run || busy !== null}
          onClick={() => act('mergedSafetensors', p.onMergedSafetensors)}
        >
          {busy === 'mergedSafetensors' ? 'Merging…' : 'Download merged safetensors'}
        </button>
      </div>
      <div className="export-row">
        <span className="label">Sweep</span>
        <button type="button" disabled={!p.hasResults} onClick={p.onJson}>
          Download results (JSON)
        </button>
        <button type="button" disabled={!p.hasResults} onClick={p.onCsv}>
          Download results (CSV)
        </button>
        <span className="hint">Each chart has its own PNG button.</span>
      </div>
      {error && (
        <p role="alert" className="field-error">
          {error}
        </p>
      )}
    </section>
  );
}

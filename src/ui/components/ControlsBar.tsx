// The bar above the charts: progress and speed of the sweep, options that act on every chart, add a run.
import { ProgressBar } from './ProgressBar';
import { formatDuration, formatRate } from '../format';
import type { ChartOptions } from '../state/settings';
import type { Progress } from '../state/sweep';

export interface ControlsBarProps {
  step: number;
  totalSteps: number;
  progress: Progress;
  stepsPerSec: number;
  tokensPerSec: number;
  phaseText: string;
  notice: string | null;
  /** Step of the last checkpoint kept in this browser (0: none). */
  checkpointStep: number;
  /** Wall-clock seconds of a finished sweep (shown instead of the ETA), or null while it trains. */
  finishedSeconds: number | null;
  /** Milliseconds from "Start sweep" to the first loss point (exposed for measurement), or null. */
  firstLossMs: number | null;
  chart: ChartOptions;
  onChart: (patch: Partial<ChartOptions>) => void;
}

export function ControlsBar(p: ControlsBarProps) {
  const pct = Math.round(p.progress.fraction * 100);
  return (
    <section
      className="panel controls"
      aria-label="Sweep progress and chart options"
      data-first-loss-ms={p.firstLossMs !== null ? Math.round(p.firstLossMs) : undefined}
    >
      <div className="progress-row">
        <strong className="step">
          {p.totalSteps > 0 ? `Step ${p.step} / ${p.totalSteps}` : 'No sweep yet'}
        </strong>
        <ProgressBar label="Sweep progress" percent={pct} text={`${pct}%`} />
        <span className="rates" aria-label="Speed">
          {formatRate(p.stepsPerSec, 'steps/s')} · {formatRate(p.tokensPerSec, 'tok/s')}
          {p.finishedSeconds !== null
            ? ` · took ${formatDuration(p.finishedSeconds)}`
            : ` · ETA ${p.progress.etaSeconds !== null ? formatDuration(p.progress.etaSeconds) : '—'}`}
          {p.finishedSeconds === null && p.checkpointStep > 0 && ` · saved at step ${p.checkpointStep}`}
        </span>
        <span className="phase" role="status" aria-label="Sweep status">
          {p.phaseText}
        </span>
      </div>
      {p.notice && (
        <p className="notice" role="status">
          {p.notice}
        </p>
      )}
      <div className="options-row">
        <label className="inline">
          Smoothing
          <input
            type="range"
            min={0}
            max={0.99}
            step={0.01}
            value={p.chart.smoothing}
            onChange={(e) => p.onChart({ smoothing: Number(e.target.value) })}
          />
          <output>{p.chart.smoothing.toFixed(2)}</output>
        </label>
        <Segmented
          label="y axis"
          value={p.chart.yScale}
          options={[
            ['log', 'log'],
            ['linear', 'linear'],
          ]}
          onChange={(yScale) => p.onChart({ yScale })}
        />
        <Segmented
          label="x axis"
          value={p.chart.xAxis}
          options={[
            ['step', 'step'],
            ['time', 'time'],
          ]}
          onChange={(xAxis) => p.onChart({ xAxis })}
        />
        <label className="check">
          <input
            type="checkbox"
            checked={p.chart.ignoreOutliers}
            onChange={(e) => p.onChart({ ignoreOutliers: e.target.checked })}
          />
          ignore outliers
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={p.chart.showValidation}
            onChange={(e) => p.onChart({ showValidation: e.target.checked })}
          />
          validation points
        </label>
      </div>
    </section>
  );
}

function Segmented<T extends string>({
  label,
  value,
  options,
  onChange,
}: {
  label: string;
  value: T;
  options: [T, string][];
  onChange: (v: T) => void;
}) {
  // Native radios: arrow keys move between the options, as a screen reader expects.
  return (
    <fieldset className="segmented">
      <legend className="seg-label">{label}:</legend>
      {options.map(([v, text]) => (
        <label key={v} className={v === value ? 'on' : ''}>
          <input
            type="radio"
            name={`seg-${label}`}
            value={v}
            checked={v === value}
            onChange={() => onChange(v)}
            className="sr-only"
          />
          {text}
        </label>
      ))}
    </fieldset>
  );
}

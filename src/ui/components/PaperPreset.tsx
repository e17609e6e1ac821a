// "Reproduce the paper": fills the settings with the scaled-down grid of docs/reproduction.md
// (src/train/presets.ts), says how it is scaled down, and links to the report (served as plain text).
import type { SweepPreset } from '../../train/presets';

export interface PaperPresetProps {
  preset: SweepPreset;
  disabled: boolean;
  onApply: () => void;
}

/** Where the build (and the dev server) serves docs/reproduction.md as text: see vite.config.ts. */
const REPORT_URL = `${import.meta.env.BASE_URL}reproduction.txt`;

export function PaperPreset({ preset, disabled, onApply }: PaperPresetProps) {
  return (
    <section className="panel preset" aria-labelledby="preset-title">
      <h2 id="preset-title">Preset</h2>
      <button type="button" disabled={disabled} onClick={onApply}>
        Reproduce the paper
      </button>
      <p className="hint" id="preset-scaling">
        {preset.scaling}
      </p>
      <p className="hint">
        The report:{' '}
        <a href={REPORT_URL} target="_blank" rel="noopener">
          {preset.reportPath}
        </a>{' '}
        (as text).
      </p>
    </section>
  );
}

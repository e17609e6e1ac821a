// A progress bar (the sweep's, a dataset being read): role progressbar, 0–100, with its text for readers.

export function ProgressBar({ label, percent, text }: { label: string; percent: number; text: string }) {
  return (
    <div
      className="progress"
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={percent}
      aria-valuetext={text}
    >
      <div className="progress-fill" style={{ width: `${percent}%` }} />
    </div>
  );
}

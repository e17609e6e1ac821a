// Numbers as the page shows them.
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0
    ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`
    : `${m}:${String(sec).padStart(2, '0')}`;
}

export function formatStepTime(secondsPerStep: number): string {
  return secondsPerStep >= 1 ? `${secondsPerStep.toFixed(1)} s` : `${Math.round(secondsPerStep * 1000)} ms`;
}

export function formatRate(v: number, unit: string): string {
  if (!Number.isFinite(v) || v <= 0) return `— ${unit}`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)} M ${unit}`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} k ${unit}`;
  return `${v >= 10 ? Math.round(v) : v.toFixed(1)} ${unit}`;
}

export function formatLossCell(v: number | null): string {
  return v === null || !Number.isFinite(v) ? '—' : v.toFixed(3);
}

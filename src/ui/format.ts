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

/** Bytes of memory in binary units, as the engine's planning reports them (KiB, MiB, GiB). */
export function formatMemory(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = bytes;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} bytes` : `${v >= 100 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** A parameter count: exact below a million ("80,128"), else in millions ("124.4 M"). */
export function formatCount(n: number): string {
  return n < 1e6 ? n.toLocaleString('en-US') : `${(n / 1e6).toFixed(1)} M`;
}

/** "1e-3", "3.2e-4", "1e0": two significant digits, trailing ".0" dropped. */
export function formatLr(lr: number): string {
  if (!Number.isFinite(lr)) return String(lr);
  if (lr === 0) return '0';
  const [mantissa, exponent] = lr.toExponential(1).split('e');
  const m = mantissa.endsWith('.0') ? mantissa.slice(0, -2) : mantissa;
  return `${m}e${exponent.startsWith('+') ? exponent.slice(1) : exponent}`;
}

/** Tick label on a log axis: powers of ten as "1e-4", anything else like formatLr. */
export function formatLogTick(v: number): string {
  return formatLr(v);
}

/** Tick / tooltip label for a loss value: 3 significant digits, exponent form when tiny or huge. */
export function formatLoss(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return formatLr(v);
  return String(Number(v.toPrecision(3)));
}

/**
 * TensorBoard's debiased exponential moving average (tensorboard/.../vz_line_chart2/line-chart.ts):
 *   last = last·w + (1 − w)·y;  smoothed = last / (1 − wⁿ)
 * where n counts the finite points seen so far. Non-finite values pass through unchanged and leave
 * the running state alone. A constant series is returned as is (TensorBoard does the same, which
 * avoids rounding noise on flat lines).
 */
export function emaSmooth(ys: readonly number[], weight: number): number[] {
  const w = Number.isFinite(weight) ? Math.min(Math.max(weight, 0), 0.999) : 0;
  if (w === 0 || ys.length === 0 || ys.every((y) => y === ys[0])) return ys.slice();
  const out = new Array<number>(ys.length);
  let last = 0;
  let wn = 1; // w^n, n = finite points so far
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (!Number.isFinite(y)) {
      out[i] = y;
      continue;
    }
    last = last * w + (1 - w) * y;
    wn *= w;
    out[i] = last / (1 - wn);
  }
  return out;
}

// Colours for runs. Learning rates get a plasma-like ramp (dark blue → magenta → orange) built in
// OKLCH so neighbouring ranks are evenly spaced to the eye, with lightness capped so every colour
// keeps at least 3:1 contrast on white (WCAG non-text contrast).

const LR_RAMP = {
  l: [0.42, 0.62], // OKLCH lightness, first → last rank
  c: [0.17, 0.17],
  h: [265, 415], // hue in degrees, through magenta (330) to orange (415 ≡ 55)
} as const;

/** Colour of a learning rate by the rank of log(lr) among all the sweep's rates. */
export function lrColor(lr: number, allLrs: readonly number[]): string {
  const distinct = [...new Set(allLrs.filter((v) => v > 0 && Number.isFinite(v)))].sort((a, b) => a - b);
  const i = distinct.indexOf(lr);
  if (distinct.length <= 1) return rampColor(0.5);
  return rampColor(i >= 0 ? i / (distinct.length - 1) : rankOf(lr, distinct));
}

/** Position in [0, 1] of a rate not in the list, by where its log falls between the list's ends. */
function rankOf(lr: number, sorted: readonly number[]): number {
  if (!(lr > 0)) return 0.5;
  const lo = Math.log(sorted[0]);
  const hi = Math.log(sorted[sorted.length - 1]);
  return Math.min(1, Math.max(0, (Math.log(lr) - lo) / (hi - lo)));
}

/** The learning-rate ramp at t ∈ [0, 1]. */
export function rampColor(t: number): string {
  const u = Math.min(1, Math.max(0, t));
  const mix = (r: readonly [number, number]) => r[0] + (r[1] - r[0]) * u;
  return oklchToHex(mix(LR_RAMP.l), mix(LR_RAMP.c), mix(LR_RAMP.h));
}

const OPTIMIZER_COLORS: Record<string, string> = {
  adamw: '#2f3640',
  'riemannian-adamw': '#1f5fbf',
  sgd: '#8a5a00',
  'riemannian-sgd': '#0f7a5a',
};
const FALLBACK = ['#6a3d9a', '#b2182b', '#1b7837', '#5e3c99', '#8c510a', '#01665e'];

/** A fixed colour per optimizer kind ('adamw', 'riemannian-adamw', 'sgd', 'riemannian-sgd'); other names hash to a stable dark colour. */
export function optimizerColor(name: string): string {
  const known = OPTIMIZER_COLORS[name.toLowerCase()];
  if (known) return known;
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return FALLBACK[h % FALLBACK.length];
}

/** OKLCH (L in [0,1], C, h in degrees) → "#rrggbb", clipped to sRGB. */
export function oklchToHex(l: number, c: number, hDeg: number): string {
  const h = (hDeg * Math.PI) / 180;
  const a = c * Math.cos(h);
  const b = c * Math.sin(h);
  const l_ = (l + 0.3963377774 * a + 0.2158037573 * b) ** 3;
  const m_ = (l - 0.1055613458 * a - 0.0638541728 * b) ** 3;
  const s_ = (l - 0.0894841775 * a - 1.291485548 * b) ** 3;
  const lin = [
    4.0767416621 * l_ - 3.3077115913 * m_ + 0.2309699292 * s_,
    -1.2684380046 * l_ + 2.6097574011 * m_ - 0.3413193965 * s_,
    -0.0041960863 * l_ - 0.7034186147 * m_ + 1.707614701 * s_,
  ];
  return '#' + lin.map((v) => toByte(v).toString(16).padStart(2, '0')).join('');
}

function toByte(linear: number): number {
  const v = Math.min(1, Math.max(0, linear));
  const srgb = v <= 0.0031308 ? 12.92 * v : 1.055 * Math.pow(v, 1 / 2.4) - 0.055;
  return Math.round(srgb * 255);
}

/** WCAG contrast ratio of a "#rrggbb" colour against white. */
export function contrastOnWhite(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const v = parseInt(hex.slice(i, i + 2), 16) / 255;
    return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  });
  const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return 1.05 / (lum + 0.05);
}

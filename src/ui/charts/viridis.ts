// Viridis (perceptually uniform, colour-blind safe), sampled at 9 points and interpolated in sRGB.
const STOPS = [
  '#440154',
  '#472d7b',
  '#3b528b',
  '#2c728e',
  '#21918c',
  '#28ae80',
  '#5ec962',
  '#addc30',
  '#fde725',
];

const RGB = STOPS.map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));

/** Viridis at t ∈ [0, 1] (0 = dark purple, 1 = yellow) as "#rrggbb". */
export function viridis(t: number): string {
  const u = Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0;
  const f = u * (RGB.length - 1);
  const i = Math.min(RGB.length - 2, Math.floor(f));
  const k = f - i;
  return (
    '#' +
    RGB[i]
      .map((c, j) =>
        Math.round(c + (RGB[i + 1][j] - c) * k)
          .toString(16)
          .padStart(2, '0'),
      )
      .join('')
  );
}

/**
 * Fill of a value on a shared [lo, hi] domain where LOWER IS BETTER: the best (lowest) values get
 * the bright yellow end, the worst the dark end. Values outside the domain are clamped.
 */
export function lossFill(value: number, [lo, hi]: [number, number]): string {
  const t = hi > lo ? (value - lo) / (hi - lo) : 0;
  return viridis(1 - t);
}

/** Readable text colour on a "#rrggbb" fill. */
export function textOn(fill: string): string {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const v = parseInt(fill.slice(i, i + 2), 16) / 255;
    return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  });
  const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return lum > 0.22 ? '#1f2328' : '#ffffff';
}

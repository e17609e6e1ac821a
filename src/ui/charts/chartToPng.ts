// Export of a chart <figure> as a PNG, entirely in the page: the chart's SVG is cloned with its
// computed styles written inline, loaded as an image from a data: URL (no foreignObject, so the
// canvas is never tainted), and drawn at 2× on white under the figure's caption, with its legend.

const SCALE = 2;
const PAD = 12;
const TITLE_FONT = '600 13px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const LEGEND_FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const LEGEND_ROW = 16;
const SWATCH = 18;

/** Presentation properties copied from the computed style onto each cloned element. */
const STYLE_PROPS = [
  'fill',
  'fill-opacity',
  'stroke',
  'stroke-width',
  'stroke-opacity',
  'stroke-dasharray',
  'stroke-linecap',
  'stroke-linejoin',
  'opacity',
  'font-family',
  'font-size',
  'font-weight',
  'text-anchor',
  'dominant-baseline',
  'paint-order',
  'visibility',
  'display',
];

export interface LegendEntry {
  label: string;
  color: string;
}

export interface PlacedLegendEntry extends LegendEntry {
  x: number;
  y: number;
}

/** Lays legend entries out in rows that fit maxWidth; returns the entries placed and the height used. */
export function layoutLegend(
  entries: readonly LegendEntry[],
  measure: (text: string) => number,
  maxWidth: number,
): { placed: PlacedLegendEntry[]; height: number } {
  const placed: PlacedLegendEntry[] = [];
  let x = 0;
  let y = 0;
  for (const e of entries) {
    const w = SWATCH + 4 + measure(e.label) + 12;
    if (x > 0 && x + w > maxWidth) {
      x = 0;
      y += LEGEND_ROW;
    }
    placed.push({ ...e, x, y });
    x += w;
  }
  return { placed, height: entries.length ? y + LEGEND_ROW : 0 };
}

/** "data:image/svg+xml,…" for an SVG document string. */
export function svgDataUrl(markup: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(markup)}`;
}

/** The figure's chart SVG as a standalone document with inline styles (hover overlays removed). */
export function serializeChartSvg(svg: SVGSVGElement): { markup: string; width: number; height: number } {
  const clone = svg.cloneNode(true) as SVGSVGElement;
  const src = [svg, ...Array.from(svg.querySelectorAll('*'))];
  const dst = [clone, ...Array.from(clone.querySelectorAll('*'))];
  src.forEach((el, i) => {
    const cs = getComputedStyle(el);
    const style = STYLE_PROPS.map((p) => `${p}:${cs.getPropertyValue(p)}`).join(';');
    dst[i].setAttribute('style', style);
  });
  clone.querySelectorAll('.hover-guide, .hover-target').forEach((el) => el.remove());
  const box = svg.getBoundingClientRect();
  const width = Number(svg.getAttribute('width')) || Math.round(box.width);
  const height = Number(svg.getAttribute('height')) || Math.round(box.height);
  clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  clone.setAttribute('width', String(width));
  clone.setAttribute('height', String(height));
  return { markup: new XMLSerializer().serializeToString(clone), width, height };
}

/** Renders a chart <figure> (caption + SVG + legend) to a PNG at 2×, on white. */
export async function chartToPng(figure: HTMLElement): Promise<Blob> {
  const svg = figure.querySelector<SVGSVGElement>('svg[role="img"]') ?? figure.querySelector('svg');
  if (!svg) throw new Error('chartToPng: the figure holds no <svg>');
  const { markup, width, height } = serializeChartSvg(svg);
  const title = figure.querySelector('figcaption')?.textContent?.trim() ?? '';
  const entries: LegendEntry[] = Array.from(figure.querySelectorAll<HTMLElement>('[data-legend-color]')).map(
    (li) => ({
      label: li.textContent?.trim() ?? '',
      color: li.dataset.legendColor ?? '#000',
    }),
  );

  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('chartToPng: no 2D canvas context');
  ctx.font = LEGEND_FONT;
  const legend = layoutLegend(entries, (t) => ctx.measureText(t).width, width);
  const titleH = title ? 22 : 0;
  const totalW = width + 2 * PAD;
  const totalH = PAD + titleH + height + (legend.height ? legend.height + 6 : 0) + PAD;
  canvas.width = totalW * SCALE;
  canvas.height = totalH * SCALE;

  const image = await loadImage(svgDataUrl(markup));
  ctx.scale(SCALE, SCALE);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, totalW, totalH);
  if (title) {
    ctx.font = TITLE_FONT;
    ctx.fillStyle = '#2b3140';
    ctx.textBaseline = 'top';
    ctx.fillText(title, PAD, PAD);
  }
  ctx.drawImage(image, PAD, PAD + titleH, width, height);
  ctx.font = LEGEND_FONT;
  ctx.textBaseline = 'middle';
  const ly = PAD + titleH + height + 6;
  for (const e of legend.placed) {
    ctx.strokeStyle = e.color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(PAD + e.x + 1, ly + e.y + LEGEND_ROW / 2);
    ctx.lineTo(PAD + e.x + SWATCH - 1, ly + e.y + LEGEND_ROW / 2);
    ctx.stroke();
    ctx.fillStyle = '#3d4451';
    ctx.fillText(e.label, PAD + e.x + SWATCH + 4, ly + e.y + LEGEND_ROW / 2);
  }
  return new Promise((resolve, reject) =>
    canvas.toBlob(
      (b) => (b ? resolve(b) : reject(new Error('chartToPng: toBlob gave nothing'))),
      'image/png',
    ),
  );
}

function loadImage(url: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error('chartToPng: the chart SVG did not load as an image'));
    img.src = url;
  });
}

/** Saves a blob under a file name through an object URL and a temporary <a download>. */
export function downloadBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Late enough that every browser has started the download from the URL.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** "Loss — AdamW" → "loss-adamw". */
export function fileSlug(title: string): string {
  return (
    title
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'chart'
  );
}

import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { Heatmap } from './Heatmap';
import type { HeatmapCell } from './types';
import { lossFill, textOn, viridis } from './viridis';

const XS = [1e-4, 1e-3, 1e-2, 1e-1];
const YS = [1e-6, 1e-4, 1e-2];

function grid(): HeatmapCell[] {
  return YS.flatMap((y, j) =>
    XS.map((x, i) => {
      if (x === 1e-1 && y !== 1e-2) return { x, y, value: null, diverged: true };
      if (x === 1e-4 && y === 1e-6) return { x, y, value: null, diverged: false };
      return { x, y, value: 2 - 0.3 * i + 0.05 * j, diverged: false };
    }),
  );
}

const render = (cells = grid()) =>
  renderToStaticMarkup(
    createElement(Heatmap, {
      title: 'Final loss — LR × δ',
      xLabel: 'learning rate',
      yLabel: 'δ',
      xValues: XS,
      yValues: YS,
      cells,
      colorDomain: [1, 2.2],
      width: 480,
      height: 300,
    }),
  );
const count = (html: string, re: RegExp) => (html.match(re) ?? []).length;

describe('Heatmap (static render)', () => {
  it('names the figure and draws every cell with its data attributes', () => {
    const html = render();
    expect(html).toMatch(/<figure[^>]*aria-label="Final loss — LR × δ"/);
    expect(count(html, /class="heatmap-cell"/g)).toBe(12);
    expect(html).toContain('data-x="0.01" data-y="0.0001" data-value="1.45" data-diverged="false"');
  });

  it('hatches diverged cells and marks them with ✕', () => {
    const html = render();
    expect(count(html, /data-diverged="true"/g)).toBe(2);
    expect(count(html, />✕<\/text>/g)).toBe(2);
    expect(count(html, /fill="url\(#hm-hatch-/g)).toBe(2);
  });

  it('prints values, a dash for a missing one, outlines the best cell and labels both axes', () => {
    const html = render();
    expect(html).toContain('>1.45</text>');
    expect(html).toContain('>–</text>');
    expect(count(html, /class="heatmap-best"/g)).toBe(1);
    for (const t of ['1e-4', '1e-1', '1e-6', '1e-2', 'learning rate', 'δ', 'lower is better'])
      expect(html).toContain(t);
  });
});

describe('heatmap colours', () => {
  it('runs viridis from dark purple to yellow, best (lowest) brightest', () => {
    expect(viridis(0)).toBe('#440154');
    expect(viridis(1)).toBe('#fde725');
    expect(viridis(0.5)).toBe('#21918c');
    expect(lossFill(1, [1, 3])).toBe('#fde725');
    expect(lossFill(3, [1, 3])).toBe('#440154');
    expect(lossFill(99, [1, 3])).toBe('#440154');
  });

  it('puts dark text on bright cells and white text on dark ones', () => {
    expect(textOn('#fde725')).toBe('#1f2328');
    expect(textOn('#440154')).toBe('#ffffff');
  });
});

describe('Heatmap tick labels', () => {
  it('labels every other column when the cells are too narrow for every label', () => {
    const xs = [1e-4, 2.7e-4, 7.2e-4, 1.9e-3, 5.2e-3, 1.4e-2, 3.7e-2, 1e-1];
    const html = renderToStaticMarkup(
      createElement(Heatmap, {
        title: 'narrow',
        xLabel: 'learning rate',
        yLabel: 'δ',
        xValues: xs,
        yValues: [1],
        cells: xs.map((x) => ({ x, y: 1, value: 1, diverged: false })),
        colorDomain: [0, 2],
        width: 300,
        height: 200,
      }),
    );
    expect(html).toContain('>1e-4</text>');
    expect(html).not.toContain('>2.7e-4</text>');
    expect(html).toContain('>7.2e-4</text>');
  });
});

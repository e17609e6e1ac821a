import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { ChartFrame } from './ChartFrame';
import { fileSlug, layoutLegend, svgDataUrl } from './chartToPng';

describe('chartToPng helpers', () => {
  it('wraps legend entries into rows that fit', () => {
    const entries = ['a', 'b', 'c'].map((label) => ({ label, color: '#000' }));
    // each entry: swatch 18 + 4 + text 20 + 12 = 54 px
    const { placed, height } = layoutLegend(entries, () => 20, 120);
    expect(placed.map((p) => [p.x, p.y])).toEqual([
      [0, 0],
      [54, 0],
      [0, 16],
    ]);
    expect(height).toBe(32);
    expect(layoutLegend([], () => 0, 100).height).toBe(0);
  });

  it('makes a data: URL (no network, no blob store) for the SVG', () => {
    const url = svgDataUrl('<svg xmlns="http://www.w3.org/2000/svg"><text>✕ #1</text></svg>');
    expect(url.startsWith('data:image/svg+xml;charset=utf-8,')).toBe(true);
    expect(decodeURIComponent(url.split(',')[1])).toContain('✕ #1');
    expect(url).not.toContain('#1'); // a raw '#' would cut the URL short
  });

  it('slugs titles into file names', () => {
    expect(fileSlug('Loss — Riemannian AdamW')).toBe('loss-riemannian-adamw');
    expect(fileSlug('——')).toBe('chart');
  });
});

describe('ChartFrame', () => {
  it('renders a download button named after the chart', () => {
    const html = renderToStaticMarkup(
      createElement(ChartFrame, {
        title: 'Loss — AdamW',
        children: createElement('figure', { 'aria-label': 'Loss — AdamW' }),
      }),
    );
    expect(html).toContain('aria-label="Download Loss — AdamW as PNG"');
    expect(html).toContain('<figure aria-label="Loss — AdamW"></figure>');
  });
});

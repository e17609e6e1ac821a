import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { LossPanel } from './LossPanel';
import { makeLines } from './testData';
import type { LossPanelProps } from './types';

function render(over: Partial<LossPanelProps> = {}): string {
  const props: LossPanelProps = {
    title: 'Loss — AdamW',
    lines: makeLines(),
    xLabel: 'step',
    xDomain: [0, 300],
    yDomain: [0.5, 6],
    yScale: 'log',
    smoothing: 0.6,
    width: 480,
    height: 300,
    ...over,
  };
  return renderToStaticMarkup(createElement(LossPanel, props));
}

const count = (html: string, re: RegExp) => (html.match(re) ?? []).length;

describe('LossPanel (static render)', () => {
  it('names the figure and shows the title', () => {
    const html = render();
    expect(html).toMatch(/<figure[^>]*aria-label="Loss — AdamW"/);
    expect(html).toMatch(/<figcaption[^>]*>Loss — AdamW<\/figcaption>/);
  });

  it('draws one data-run-id per line and counts the raw points', () => {
    const lines = makeLines();
    const html = render({ lines });
    expect(count(html, /data-run-id="/g)).toBe(lines.length);
    for (const l of lines) expect(html).toContain(`data-run-id="${l.id}"`);
    const total = lines.reduce((n, l) => n + l.points.length, 0);
    expect(html).toContain(`data-points="${total}"`);
    expect(html).toContain(`data-runs="${lines.length}"`);
  });

  it('marks the diverged run with a ✕ and a label', () => {
    const html = render();
    expect(count(html, /class="diverged-marker"/g)).toBe(1);
    expect(html).toContain('data-diverged-run-id="adamw@0.1"');
    expect(html).toContain('diverged @ step 92');
    expect(html).toContain(
      'data-run-id="adamw@0.1" data-raw-points="92" data-drawn-points="92" data-diverged="true"',
    );
  });

  it('draws the smoothed curve over a faint raw curve, or only the raw one at smoothing 0', () => {
    const withSmoothing = render();
    expect(count(withSmoothing, /class="loss-line"/g)).toBe(4);
    expect(count(withSmoothing, /stroke-opacity="0.22"/g)).toBe(4);
    const raw = render({ smoothing: 0 });
    expect(count(raw, /class="loss-line"/g)).toBe(4);
    expect(count(raw, /stroke-opacity="0.22"/g)).toBe(0);
  });

  it('draws validation points as dots', () => {
    // 300 steps → x = 0, 50, ..., 250 (6 dots) for 3 runs; the diverged one has x = 0, 50.
    expect(count(render(), /class="val-dot"/g)).toBe(3 * 6 + 2);
  });

  it('keeps each drawn line within its budget', () => {
    const html = render({ lines: makeLines(2000), maxPointsPerLine: 100 });
    const drawn = [...html.matchAll(/data-drawn-points="(\d+)"/g)].map((m) => Number(m[1]));
    expect(drawn).toHaveLength(4);
    for (const n of drawn.slice(0, 3)) expect(n).toBeLessThanOrEqual(100);
    expect(html).toContain(`data-points="${3 * 2000 + 92}"`);
  });

  it('labels log ticks in the plain loss format and shows an empty panel without lines', () => {
    const html = render();
    expect(html).toMatch(/>1<\/text>/);
    const empty = render({ lines: [] });
    expect(empty).toContain('data-points="0"');
    expect(count(empty, /data-run-id="/g)).toBe(0);
  });

  it('lists every run in the hidden summary table', () => {
    const html = render();
    expect(count(html, /data-summary-run-id="/g)).toBe(4);
    expect(html).toContain('diverged @ 92');
  });
});

import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { optimizerColor } from './colors';
import { RobustnessChart } from './RobustnessChart';
import type { RobustnessLine } from './types';

const LRS = [1e-4, 3.2e-4, 1e-3, 3.2e-3, 1e-2, 3.2e-2, 1e-1];

function line(id: string, label: string, losses: (number | null | 'x')[], dash?: string): RobustnessLine {
  return {
    id,
    label,
    color: optimizerColor(id),
    dash,
    points: losses.map((v, i) => ({ lr: LRS[i], loss: v === 'x' ? null : v, diverged: v === 'x' })),
  };
}

const LINES = [
  line('adamw', 'AdamW', [2.1, 1.6, 1.1, 0.8, 0.75, 'x', 'x']),
  line('riemannian-adamw', 'Riemannian AdamW', [1.9, 1.3, 0.9, 0.74, 0.71, 0.8, 'x'], '6 3'),
];

const render = (lines = LINES) =>
  renderToStaticMarkup(
    createElement(RobustnessChart, {
      title: 'Learning-rate robustness',
      lines,
      metric: 'final',
      width: 480,
      height: 280,
    }),
  );
const count = (html: string, re: RegExp) => (html.match(re) ?? []).length;

describe('RobustnessChart (static render)', () => {
  it('names the figure and draws one data-run-id per line', () => {
    const html = render();
    expect(html).toMatch(/<figure[^>]*aria-label="Learning-rate robustness"/);
    expect(count(html, /data-run-id="/g)).toBe(2);
    expect(html).toContain('data-run-id="riemannian-adamw"');
    expect(html).toContain('stroke-dasharray="6 3"');
  });

  it('marks each diverged run with a ✕ in the band above the plot', () => {
    const html = render();
    expect(count(html, /class="diverged-marker"/g)).toBe(3);
    expect(html).toContain('data-lr="0.1" data-loss="" data-diverged="true"');
    expect(html).toMatch(/>diverged<\/text>/);
  });

  it('gives every finite point its lr and loss, and rings the best one', () => {
    const html = render();
    expect(count(html, /class="robustness-point"/g)).toBe(5 + 6);
    expect(html).toContain('data-lr="0.01" data-loss="0.71" data-diverged="false"');
    expect(count(html, /r="6.5"/g)).toBe(2);
  });

  it('labels the log x axis in 1e-3 style and the metric on y', () => {
    const html = render();
    for (const t of ['1e-4', '1e-3', '1e-2', '1e-1']) expect(html).toContain(`>${t}</text>`);
    expect(html).toContain('final validation loss');
  });

  it('leaves the diverged band out when nothing diverged, and copes with no lines', () => {
    const calm = render([line('sgd', 'SGD', [3, 2, 1.5, 1.2, 1.1, 1.3, 1.9])]);
    expect(calm).not.toContain('diverged-band');
    expect(count(render([]), /data-run-id="/g)).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { contrastOnWhite, lrColor, oklchToHex, optimizerColor } from './colors';
import { formatLoss, formatLr } from './formatLr';

const LRS = [1e-4, 3.2e-4, 1e-3, 3.2e-3, 1e-2, 3.2e-2, 1e-1];

describe('lrColor', () => {
  it('is identical for identical rates, whatever the order or duplicates of the list', () => {
    const shuffled = [1e-2, 1e-4, 1e-1, 3.2e-3, 1e-3, 3.2e-2, 3.2e-4, 1e-2];
    for (const lr of LRS) expect(lrColor(lr, LRS)).toBe(lrColor(lr, shuffled));
  });

  it('gives each rank its own colour, each readable on white (≥ 3:1)', () => {
    const colors = LRS.map((lr) => lrColor(lr, LRS));
    expect(new Set(colors).size).toBe(LRS.length);
    for (const c of colors) {
      expect(c).toMatch(/^#[0-9a-f]{6}$/);
      expect(contrastOnWhite(c)).toBeGreaterThanOrEqual(3);
    }
  });

  it('orders by log rate: ends of the ramp for the smallest and largest', () => {
    expect(lrColor(1e-4, LRS)).toBe(lrColor(1e-6, [1e-6, 5]));
    expect(lrColor(1e-1, LRS)).toBe(lrColor(5, [1e-6, 5]));
    expect(lrColor(1e-3, [1e-3])).toBe(lrColor(1, [1]));
  });

  it('converts OKLCH white and black exactly', () => {
    expect(oklchToHex(1, 0, 0)).toBe('#ffffff');
    expect(oklchToHex(0, 0, 0)).toBe('#000000');
  });
});

describe('optimizerColor', () => {
  it('is fixed per known optimizer and stable for unknown names', () => {
    expect(optimizerColor('adamw')).toBe('#2f3640');
    expect(optimizerColor('riemannian-adamw')).not.toBe(optimizerColor('adamw'));
    expect(optimizerColor('lion')).toBe(optimizerColor('lion'));
    expect(contrastOnWhite(optimizerColor('lion'))).toBeGreaterThanOrEqual(3);
  });
});

describe('formatLr / formatLoss', () => {
  it.each([
    [1e-3, '1e-3'],
    [3.2e-4, '3.2e-4'],
    [3.16e-4, '3.2e-4'],
    [0.1, '1e-1'],
    [1, '1e0'],
    [0, '0'],
  ])('formatLr(%s) = %s', (lr, s) => expect(formatLr(lr)).toBe(s));

  it('formats losses with three significant digits', () => {
    expect(formatLoss(2.34567)).toBe('2.35');
    expect(formatLoss(0.5)).toBe('0.5');
    expect(formatLoss(1e-5)).toBe('1e-5');
  });
});

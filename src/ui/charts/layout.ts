import type { CSSProperties } from 'react';

/** The rectangle inside the axes, in SVG pixels. */
export interface PlotArea {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface Margin {
  top: number;
  right: number;
  bottom: number;
  left: number;
}

export const DEFAULT_MARGIN: Margin = { top: 12, right: 16, bottom: 40, left: 52 };

export function plotArea(width: number, height: number, m: Margin = DEFAULT_MARGIN): PlotArea {
  return {
    left: m.left,
    top: m.top,
    width: Math.max(1, width - m.left - m.right),
    height: Math.max(1, height - m.top - m.bottom),
  };
}

/** Shared look, as SVG attributes (not CSS) so an exported PNG looks the same as the page. */
export const THEME = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  fontSize: 11,
  text: '#3d4451',
  muted: '#6b7280',
  axis: '#9ca3af',
  grid: '#eceef1',
  diverged: '#c62828',
  background: '#ffffff',
} as const;

/** Hidden from sight, still read by screen readers and tests. */
export const VISUALLY_HIDDEN: CSSProperties = {
  position: 'absolute',
  width: 1,
  height: 1,
  padding: 0,
  margin: -1,
  overflow: 'hidden',
  clip: 'rect(0 0 0 0)',
  whiteSpace: 'nowrap',
  border: 0,
};

// minWidth 0: inside a grid or flex item the chart must not hold its column open at the default
// width before it has measured its box.
export const FIGURE_STYLE: CSSProperties = {
  margin: 0,
  minWidth: 0,
  position: 'relative',
  fontFamily: THEME.font,
};

export const CAPTION_STYLE: CSSProperties = {
  fontSize: 13,
  fontWeight: 600,
  color: '#2b3140',
  margin: '0 0 4px',
};

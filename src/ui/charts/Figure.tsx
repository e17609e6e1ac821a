import type { ReactNode, SVGProps } from 'react';
import { CAPTION_STYLE, FIGURE_STYLE, THEME } from './layout';
import type { ChartSize } from './useChartSize';

type DataAttributes = { [key: `data-${string}`]: string | number | undefined };

export interface ChartFigureProps extends DataAttributes {
  title: string;
  className: string;
  size: ChartSize;
  children: ReactNode;
}

/** The <figure> each chart sits in: named and captioned by its title, measured unless its width is fixed. */
export function ChartFigure({ title, className, size, children, ...data }: ChartFigureProps) {
  return (
    <figure
      aria-label={title}
      className={className}
      {...data}
      style={FIGURE_STYLE}
      ref={size.fixedWidth === undefined ? size.measureRef : undefined}
    >
      <figcaption style={CAPTION_STYLE}>{title}</figcaption>
      {children}
    </figure>
  );
}

export interface ChartSvgProps extends Omit<
  SVGProps<SVGSVGElement>,
  'width' | 'height' | 'viewBox' | 'role'
> {
  /** Drawing size in SVG pixels (the viewBox); the svg is the fixed width wide, else fills its box. */
  size: ChartSize;
  'aria-label': string;
}

/** A chart's <svg> (an image to assistive technology) over a background rect, so a PNG export is opaque. */
export function ChartSvg({ size, style, children, ...rest }: ChartSvgProps) {
  const { width, height } = size;
  return (
    <svg
      xmlns="http://www.w3.org/2000/svg"
      width={size.fixedWidth ?? '100%'}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      {...rest}
      style={{ display: 'block', ...style }}
    >
      <rect width={width} height={height} fill={THEME.background} />
      {children}
    </svg>
  );
}

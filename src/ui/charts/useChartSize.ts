import { useElementWidth } from './useElementWidth';

/** A chart's drawing size, and how its box gets it: a fixed width, or measured through measureRef. */
export interface ChartSize {
  width: number;
  height: number;
  /** The width the caller fixed, if any (the svg then has it; otherwise it fills its box). */
  fixedWidth: number | undefined;
  measureRef: (el: HTMLElement | null) => void;
}

/** Width: the fixed one, else the measured one, else the default; height: the given one, else the default. */
export function useChartSize(
  props: { width?: number; height?: number },
  defaultWidth: number,
  defaultHeight: number,
): ChartSize {
  const [measureRef, measured] = useElementWidth();
  return {
    width: props.width ?? measured ?? defaultWidth,
    height: props.height ?? defaultHeight,
    fixedWidth: props.width,
    measureRef,
  };
}

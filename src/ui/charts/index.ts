// The charts of LoRA Lab: presentational components fed by plain data, and their pure helpers.
export type * from './types';
export { LossPanel, type LossPanelExtraProps } from './LossPanel';
export { RobustnessChart, type RobustnessChartExtraProps } from './RobustnessChart';
export { Heatmap, type HeatmapExtraProps } from './Heatmap';
export { ChartFrame, type ChartFrameProps } from './ChartFrame';
export { ChartLegend, type LegendItem } from './ChartLegend';
export { emaSmooth } from './ema';
export { downsample } from './downsample';
export { robustYDomain } from './robustDomain';
export { lrColor, optimizerColor, rampColor } from './colors';
export { formatLr, formatLoss } from './formatLr';
export { viridis, lossFill } from './viridis';
export { chartToPng, downloadBlob, fileSlug } from './chartToPng';

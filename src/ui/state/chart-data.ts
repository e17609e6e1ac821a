// Chart data derived from the sweep state: plain shapes for the chart components. Lines are cached per
// run object (a run's object changes only when something of it changed), so a metrics message costs
// O(runs that changed), and the panels share one y domain and one colour per learning rate.
import { OPTIMIZERS, type OptimizerKind } from '../../optim/optimizer';
import { lrColor, optimizerColor } from '../charts/colors';
import { formatLr } from '../charts/formatLr';
import { robustYDomain } from '../charts/robustDomain';
import type { ChartPoint, HeatmapCell, LossLine, RobustnessLine, YScale } from '../charts/types';
import { axisDash, AXIS_SHORT, formatAxisValue, secondValueOf, type SecondAxis } from './second-axis';
import { OPTIMIZER_LABELS, type ChartOptions, type XAxis } from './settings';
import type { RunView, SweepState } from './sweep';

/** Distinct second-axis values of the sweep, ascending (their rank picks a line's dash). */
export function sweepSecondValues(s: SweepState, axis: SecondAxis): number[] {
  const vs = s.order.map((id) => secondValueOf(s.runs[id], axis)).filter((v): v is number => v !== null);
  return [...new Set(vs)].sort((a, b) => a - b);
}

interface CachedLine {
  xAxis: XAxis;
  color: string;
  style: string;
  /** The run's steps array the points were made from (append-only: a longer one extends it). */
  steps: readonly number[];
  line: LossLine;
}
/** Per run id: the last line made, extended by the new points only when the run grows. */
const lineCache = new Map<string, CachedLine>();
const byRun = new WeakMap<RunView, LossLine>();
/** The sweep the cache holds lines of (a new or reopened sweep starts it afresh). */
let cachedSweep: string | null = null;

interface LineStyle {
  label: string;
  dash?: string;
}

function lossLine(run: RunView, xAxis: XAxis, color: string, style: LineStyle): LossLine {
  const same = byRun.get(run);
  const cached = lineCache.get(run.id);
  const styleKey = `${style.label}|${style.dash ?? ''}`;
  if (
    same &&
    cached &&
    cached.line === same &&
    cached.xAxis === xAxis &&
    cached.color === color &&
    cached.style === styleKey
  )
    return same;
  const xs = xAxis === 'step' ? run.steps : run.seconds;
  // Reuse the points already made when this run only gained points at the end (a metrics message).
  const reuse =
    cached &&
    cached.xAxis === xAxis &&
    cached.steps.length <= run.steps.length &&
    cached.line.points.length === cached.steps.length &&
    (cached.steps.length === 0 ||
      run.steps[cached.steps.length - 1] === cached.steps[cached.steps.length - 1]);
  const from = reuse ? cached.line.points.length : 0;
  const tail: ChartPoint[] = new Array(xs.length - from);
  for (let i = from; i < xs.length; i++) tail[i - from] = { x: xs[i], y: run.losses[i] };
  const points = reuse ? cached.line.points.concat(tail) : tail;
  const validation = run.validation.map((v) => ({ x: xAxis === 'step' ? v.step : v.seconds, y: v.loss }));
  const last = points[points.length - 1];
  const line: LossLine = {
    id: run.id,
    label: style.label,
    color,
    ...(style.dash ? { dash: style.dash } : {}),
    points,
    validation,
    divergedAt:
      run.status.kind === 'diverged' && last
        ? { x: xAxis === 'step' ? Math.max(last.x, run.status.step) : last.x, y: last.y }
        : undefined,
  };
  lineCache.set(run.id, { xAxis, color, style: styleKey, steps: run.steps, line });
  byRun.set(run, line);
  return line;
}

export interface PanelData {
  optimizer: OptimizerKind;
  title: string;
  lines: LossLine[];
}

export interface LossPanelsData {
  panels: PanelData[];
  xDomain: [number, number];
  yDomain: [number, number];
  xLabel: string;
}

/** Distinct learning rates of the sweep, for lrColor. */
export function sweepLrs(s: SweepState): number[] {
  return [...new Set(s.order.map((id) => s.runs[id].lr))].sort((a, b) => a - b);
}

/**
 * One panel per optimizer (those of the sweep, or those selected when there is no sweep yet), in the
 * canonical order, with the same axes on every panel.
 */
export function lossPanels(
  s: SweepState,
  chart: ChartOptions,
  hidden: ReadonlySet<string>,
  selected: readonly OptimizerKind[],
  /** x extent before a sweep has started (the configured steps). */
  plannedSteps = 1,
  axis: SecondAxis = 'none',
): LossPanelsData {
  const inSweep = new Set(s.order.map((id) => s.runs[id].optimizer));
  const kinds = OPTIMIZERS.filter((o) => (inSweep.size ? inSweep.has(o) : selected.includes(o)));
  const lrs = sweepLrs(s);
  const panels: PanelData[] = kinds.map((optimizer) => ({
    optimizer,
    title: `Loss — ${OPTIMIZER_LABELS[optimizer]}`,
    lines: [],
  }));
  const byKind = new Map(panels.map((p) => [p.optimizer, p]));
  if (s.sweepId !== cachedSweep) {
    lineCache.clear();
    cachedSweep = s.sweepId;
  }
  // Grouped by learning rate (its colour), then styled by the second value (its dash).
  const values = sweepSecondValues(s, axis);
  const second = (r: RunView) => secondValueOf(r, axis) ?? -Infinity;
  const runs = s.order.map((id) => s.runs[id]).sort((a, b) => a.lr - b.lr || second(a) - second(b));
  for (const run of runs) {
    if (hidden.has(run.id)) continue;
    const v = secondValueOf(run, axis);
    const style: LineStyle =
      v === null || axis === 'none'
        ? { label: `lr ${formatLr(run.lr)}` }
        : {
            label: `lr ${formatLr(run.lr)} · ${AXIS_SHORT[axis]} ${formatAxisValue(v)}`,
            dash: axisDash(values.indexOf(v)),
          };
    const full = lossLine(run, chart.xAxis, lrColor(run.lr, lrs), style);
    const line = chart.showValidation ? full : { ...full, validation: [] };
    byKind.get(run.optimizer)?.lines.push(line);
  }
  const all = panels.flatMap((p) => p.lines);
  const yScale: YScale = chart.yScale;
  const yDomain = chart.ignoreOutliers ? robustYDomain(all, yScale) : fullYDomain(all, yScale);
  const xMax =
    chart.xAxis === 'step'
      ? Math.max(s.totalSteps || (plannedSteps > 0 ? plannedSteps : 1), 2)
      : Math.max(1e-3, ...all.map((l) => (l.points.length ? l.points[l.points.length - 1].x : 0)));
  return {
    panels,
    xDomain: [chart.xAxis === 'step' ? 1 : 0, xMax],
    yDomain,
    xLabel: chart.xAxis === 'step' ? 'step' : 'time (s)',
  };
}

function fullYDomain(lines: LossLine[], scale: YScale): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const l of lines)
    for (const series of [l.points, l.validation])
      for (const p of series) {
        if (!Number.isFinite(p.y) || (scale === 'log' && p.y <= 0)) continue;
        lo = Math.min(lo, p.y);
        hi = Math.max(hi, p.y);
      }
  if (!(lo <= hi)) return scale === 'log' ? [0.1, 10] : [0, 1];
  if (scale === 'log') return [lo / 1.05, hi * 1.05];
  const pad = (hi - lo) * 0.05 || 0.1;
  return [Math.max(0, lo - pad), hi + pad];
}

/** A run's final (or best) validation loss; null while not measured yet or when it diverged. */
function runMetric(run: RunView, metric: 'final' | 'best'): { loss: number | null; measured: boolean } {
  const diverged = run.status.kind === 'diverged';
  const finished = run.status.kind !== 'running' && run.status.kind !== 'waiting';
  const val = run.validation;
  let loss: number | null = null;
  if (!diverged && val.length > 0 && (finished || metric === 'best'))
    loss = metric === 'final' ? val[val.length - 1].loss : Math.min(...val.map((v) => v.loss));
  return { loss, measured: loss !== null || diverged || finished };
}

/**
 * Final (or best) validation loss against learning rate: one line per optimizer, or per optimizer and
 * second-axis value (dashed by the value's rank) when the sweep has a second axis.
 */
export function robustnessLines(
  s: SweepState,
  metric: 'final' | 'best',
  axis: SecondAxis = 'none',
): RobustnessLine[] {
  const values = sweepSecondValues(s, axis);
  const byKey = new Map<string, RobustnessLine & { rank: number; kind: number }>();
  for (const id of s.order) {
    const run = s.runs[id];
    const v = secondValueOf(run, axis);
    const key = v === null ? run.optimizer : `${run.optimizer}|${v}`;
    let line = byKey.get(key);
    if (!line) {
      const dash = v === null ? undefined : axisDash(values.indexOf(v));
      line = {
        id: key,
        label:
          v === null || axis === 'none'
            ? OPTIMIZER_LABELS[run.optimizer]
            : `${OPTIMIZER_LABELS[run.optimizer]} ${AXIS_SHORT[axis]} ${formatAxisValue(v)}`,
        color: optimizerColor(run.optimizer),
        ...(dash ? { dash } : {}),
        points: [],
        rank: v === null ? -1 : values.indexOf(v),
        kind: OPTIMIZERS.indexOf(run.optimizer),
      };
      byKey.set(key, line);
    }
    const { loss, measured } = runMetric(run, metric);
    if (!measured) continue; // not measured yet: no point
    line.points.push({ lr: run.lr, loss, diverged: run.status.kind === 'diverged' });
  }
  const lines = [...byKey.values()].sort((a, b) => a.kind - b.kind || a.rank - b.rank);
  for (const l of lines) l.points.sort((a, b) => a.lr - b.lr);
  return lines.map(({ rank: _rank, kind: _kind, ...line }) => line);
}

export interface HeatmapData {
  optimizer: OptimizerKind;
  title: string;
  xValues: number[];
  yValues: number[];
  cells: HeatmapCell[];
}

/**
 * One heatmap per optimizer that the second axis acts on: final (or best) validation loss over learning
 * rate × second value, diverged cells marked, and one colour domain shared by all of them.
 */
export function heatmaps(
  s: SweepState,
  metric: 'final' | 'best',
  axis: SecondAxis,
): { maps: HeatmapData[]; colorDomain: [number, number] } {
  const maps = new Map<OptimizerKind, HeatmapData>();
  let lo = Infinity;
  let hi = -Infinity;
  for (const id of s.order) {
    const run = s.runs[id];
    const v = secondValueOf(run, axis);
    if (v === null) continue;
    let map = maps.get(run.optimizer);
    if (!map) {
      map = {
        optimizer: run.optimizer,
        title: `Heatmap — ${OPTIMIZER_LABELS[run.optimizer]}`,
        xValues: [],
        yValues: [],
        cells: [],
      };
      maps.set(run.optimizer, map);
    }
    const { loss } = runMetric(run, metric);
    if (!map.xValues.includes(run.lr)) map.xValues.push(run.lr);
    if (!map.yValues.includes(v)) map.yValues.push(v);
    map.cells.push({ x: run.lr, y: v, value: loss, diverged: run.status.kind === 'diverged' });
    if (loss !== null && Number.isFinite(loss)) {
      lo = Math.min(lo, loss);
      hi = Math.max(hi, loss);
    }
  }
  const colorDomain: [number, number] = lo <= hi ? [lo, hi > lo ? hi : lo + 1e-3] : [0, 1];
  return {
    maps: OPTIMIZERS.filter((o) => maps.has(o)).map((o) => maps.get(o)!),
    colorDomain,
  };
}

// How much GPU memory a sweep takes, and whether it fits the device: the engine is built on a PlanningGpu,
// so the count comes from the very code that allocates a real sweep.
import type { Gpu } from '../gpu/context';
import { formatBytes, PlanningGpu, type Allocation } from '../gpu/planning';

export { formatBytes } from '../gpu/planning';
import type { LabGptConfig, Weights } from '../model/config';
import type { BatchSource } from './batch';
import type { SweepConfig } from './config';
import { SweepEngine } from './sweep';

export interface SweepPlan {
  runs: number;
  /** Every buffer the sweep allocates (weights, activations, adapters, moments, scratch, uniforms). */
  bytes: number;
  largest: Allocation | undefined;
  /** Device limits the sweep would exceed (empty: it fits). */
  problems: string[];
}

/** A build needs no data: the batches are read only when a step runs. */
const NO_DATA: BatchSource = {
  train: () => {
    throw new Error('planning: no data');
  },
  validation: () => [],
  trainTokens: 0,
  valTokens: 0,
};

/**
 * Plan a sweep on `gpu`'s limits. `memoryBytes`, when known, bounds the total (WebGPU does not report a
 * GPU's memory; on a CPU fallback the caller passes the host's).
 */
export function planSweep(
  gpu: Gpu,
  cfg: LabGptConfig,
  weights: Weights,
  config: SweepConfig,
  memoryBytes?: number,
): SweepPlan {
  const planning = new PlanningGpu(gpu);
  new SweepEngine(planning, cfg, weights, config, NO_DATA).destroy();
  const bytes = planning.totalBytes;
  const problems = [...planning.problems];
  if (memoryBytes !== undefined && bytes > memoryBytes)
    problems.unshift(
      `${formatBytes(bytes)} in all, over the ${formatBytes(memoryBytes)} of memory available`,
    );
  return { runs: config.runs.length, bytes, largest: planning.largest, problems };
}

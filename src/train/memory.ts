// How much GPU memory a sweep takes, and whether it fits the device: the engine is built on a PlanningGpu,
// so the count comes from the very code that allocates a real sweep (the LM head's chunked logits and
// wte's pieces included: lmHeadChunkRows and wtePieceRows in model/buffers.ts).
import type { Gpu } from '../gpu/context';
import { formatBytes, PlanningGpu, type Allocation, type PlanningLimits } from '../gpu/planning';

export { formatBytes } from '../gpu/planning';
import { parameterShapes, type LabGptConfig, type Weights } from '../model/config';
import type { BatchSource } from './batch';
import type { SweepConfig } from './config';
import { SweepEngine, type EngineOptions } from './sweep';

export interface SweepPlan {
  runs: number;
  /** Every buffer the sweep allocates (weights, activations, adapters, moments, scratch, uniforms). */
  bytes: number;
  largest: Allocation | undefined;
  allocations: Allocation[];
  /** The LM head's chunks: rows per chunk (its logits buffer is [chunkRows, V]) and their number. */
  lmHead: { chunkRows: number; chunks: number };
  /** Pieces of wte: one, or several when wte is over the device's binding limits. */
  wtePieces: number;
  /** Device limits the sweep would exceed (empty: it fits). */
  problems: string[];
  /**
   * Those of `problems` that are the model's own weights: no sweep setting makes them smaller, the device
   * cannot bind them at all.
   */
  modelProblems: string[];
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

const isWeight = (label: string) => label.startsWith('transformer.');

function plan(
  planning: PlanningGpu,
  cfg: LabGptConfig,
  weights: Weights,
  config: SweepConfig,
  memoryBytes: number | undefined,
  options: EngineOptions = {},
): SweepPlan {
  const engine = new SweepEngine(planning, cfg, weights, config, NO_DATA, undefined, options);
  const { lmHead, wtePieces } = engine;
  engine.destroy();
  const bytes = planning.totalBytes;
  const modelProblems = planning.overLimit
    .filter((o) => isWeight(o.label))
    .map(
      (o) =>
        `the model's ${o.label} (${formatBytes(o.bytes)}) is over this device's ${o.limit} of ${formatBytes(o.max)}: no setting makes it smaller; a GPU or browser that allows larger storage buffers is needed`,
    );
  const problems = [...planning.problems];
  if (memoryBytes !== undefined && bytes > memoryBytes)
    problems.unshift(
      `${formatBytes(bytes)} in all, over the ${formatBytes(memoryBytes)} of memory available`,
    );
  return {
    runs: config.runs.length,
    bytes,
    largest: planning.largest,
    allocations: planning.allocations,
    lmHead,
    wtePieces,
    problems,
    modelProblems,
  };
}

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
  options: EngineOptions = {},
): SweepPlan {
  return plan(new PlanningGpu(gpu), cfg, weights, config, memoryBytes, options);
}

/**
 * Plan a sweep of a model known only by its config, on a device known only by its limits: arithmetic,
 * no GPU and no weights (each weight stands in by its size).
 */
export function planSweepForLimits(
  limits: PlanningLimits,
  cfg: LabGptConfig,
  config: SweepConfig,
  memoryBytes?: number,
  options: EngineOptions = {},
): SweepPlan {
  const sizes: Weights = new Map();
  for (const [name, shape] of parameterShapes(cfg))
    sizes.set(name, standIn(shape.reduce((a, b) => a * b, 1)));
  return plan(PlanningGpu.forLimits(limits), cfg, sizes, config, memoryBytes, options);
}

/**
 * A weight of `length` floats known only by its size: PlanningGpu.buffer reads only the byte length of what
 * it is given, and uploadWeights takes wte's pieces as subarrays.
 */
function standIn(length: number): Float32Array {
  return {
    byteLength: 4 * length,
    subarray: (begin: number, end = length) => standIn(end - begin),
  } as unknown as Float32Array;
}

// Will a sweep fit this device? Checked before anything trains (the CLI and the page's Worker alike): the
// planned buffers against the device's limits, then the engine built inside an out-of-memory error scope,
// so a GPU that runs out gives a message that says what to lower instead of a failure mid-step.
import type { Gpu } from '../gpu/context';
import { GpuError } from '../gpu/errors';
import type { LabGptConfig, Weights } from '../model/config';
import type { SweepConfig } from './config';
import { formatBytes, planSweep, type SweepPlan } from './memory';
import type { SweepEngine } from './sweep';

/** How the settings are named to the user: flags in the CLI, field names in the page. */
export interface SettingNames {
  batch: string;
  seq: string;
  rank: string;
}

/** The sweep does not fit the device: its message says what to lower. */
export class SweepFitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SweepFitError';
  }
}

/** Plan the sweep on this device; a sweep over its limits throws SweepFitError. */
export function fitPlan(
  gpu: Gpu,
  cfg: LabGptConfig,
  weights: Weights,
  config: SweepConfig,
  names: SettingNames,
  memoryBytes?: number,
): SweepPlan {
  const plan = planSweep(gpu, cfg, weights, config, memoryBytes);
  // A weight of the model over a limit: fewer runs or a smaller batch would not help.
  if (plan.modelProblems.length > 0)
    throw new SweepFitError(`this model cannot be trained on this device: ${plan.modelProblems.join('; ')}`);
  if (plan.problems.length > 0)
    throw new SweepFitError(
      `the grid of ${plan.runs} runs does not fit this device: ${plan.problems.slice(0, 2).join('; ')}` +
        `${plan.problems.length > 2 ? ` (and ${plan.problems.length - 2} more)` : ''}; try fewer runs, or a smaller ${names.batch} or ${names.seq}`,
    );
  return plan;
}

/** A GPU allocation or submission that ran out of memory (Dawn throws RangeError for a mapped buffer). */
export function isOutOfMemory(e: unknown): boolean {
  return (e instanceof GpuError && e.kind === 'out-of-memory') || e instanceof RangeError;
}

export function outOfMemory(plan: SweepPlan, names: SettingNames): SweepFitError {
  return new SweepFitError(
    `the sweep needs ${formatBytes(plan.bytes)} of GPU memory and the device ran out: lower ${names.batch}, ${names.seq}, the number of runs, or ${names.rank}`,
  );
}

/** Build the engine inside an out-of-memory error scope: an allocation the device refuses is a clear message. */
export async function buildEngine(
  gpu: Gpu,
  plan: SweepPlan,
  names: SettingNames,
  build: () => SweepEngine,
): Promise<SweepEngine> {
  gpu.device.pushErrorScope('out-of-memory');
  let engine: SweepEngine | undefined;
  let thrown: unknown;
  try {
    engine = build();
  } catch (e) {
    thrown = e;
  }
  const scoped = await gpu.device.popErrorScope();
  if (scoped || isOutOfMemory(thrown)) {
    engine?.destroy();
    throw outOfMemory(plan, names);
  }
  if (!engine) throw thrown;
  return engine;
}

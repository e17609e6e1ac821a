// What `lora-lab train` prints while it works: adapter, CPU-fallback warning, step time and ETA.
import { describe, expect, it } from 'vitest';
import type { GpuInfo } from '../gpu/device';
import type { StepReport } from '../train/sweep';
import type { SweepResults } from '../train/results';
import { formatDuration, TrainReporter } from './train-reporter';

const info = (isSoftware: boolean): GpuInfo => ({
  vendor: 'google',
  architecture: 'swiftshader',
  description: 'SwiftShader Device (Subzero)',
  isSoftware,
  features: [],
  limits: {},
  runtime: 'node',
});

function report(steps: number[], loss: number): StepReport {
  return {
    steps,
    losses: steps.map(() => [loss]),
    tokensPerSec: 10,
    gradNorm: [0],
    updateNorm: [0],
    choleskyFallbacks: [0],
    alive: [true],
    divergedAtStep: [null],
  };
}

function reporter(now: { t: number }) {
  const out: string[] = [];
  const err: string[] = [];
  const r = new TrainReporter({
    out: { write: (s: string) => out.push(s) },
    err: { write: (s: string) => err.push(s) },
    tty: false,
    runIds: ['adamw@0.001'],
    totalSteps: 200,
    now: () => now.t,
  });
  return { r, out, err };
}

describe('TrainReporter', () => {
  it('names the adapter and warns once when it is a CPU fallback', () => {
    const sw = reporter({ t: 0 });
    sw.r.device(info(true));
    expect(sw.err.join('')).toMatch(
      /^WebGPU adapter: SwiftShader Device \(Subzero\)\n.*CPU fallback.*1000× slower/,
    );
    const hw = reporter({ t: 0 });
    hw.r.device({ ...info(false), description: 'NVIDIA H100' });
    expect(hw.err).toEqual(['WebGPU adapter: NVIDIA H100\n']);
  });

  it('on a CPU fallback, says when the kernels compile, how long they took and that the first step runs', () => {
    const now = { t: 0 };
    const sw = reporter(now);
    sw.r.device(info(true));
    sw.err.length = 0;
    sw.r.preparing();
    expect(sw.err).toEqual(['compiling the GPU kernels…\n']);
    now.t += 18_400;
    sw.r.start();
    expect(sw.err[1]).toBe('kernels ready in 18 s; step 1 of 200 running…\n');
    // A resumed sweep names the step it goes on with.
    sw.r.preparing();
    now.t += 900;
    sw.r.start(120);
    expect(sw.err[3]).toBe('kernels ready in 900 ms; step 121 of 200 running…\n');
    // On a GPU compiling takes a moment: nothing is said.
    const hw = reporter(now);
    hw.r.device({ ...info(false), description: 'NVIDIA H100' });
    hw.r.preparing();
    now.t += 500;
    hw.r.start();
    expect(hw.err).toEqual(['WebGPU adapter: NVIDIA H100\n']);
  });

  it('after the first step, tells how long a step takes and the ETA', () => {
    const now = { t: 1000 };
    const { r, err, out } = reporter(now);
    r.start();
    now.t += 30_000; // the first step took 30 s
    r.onEvent({ type: 'report', report: report([1], 5.5) });
    expect(err).toEqual(['first step: 30 s per step; ETA 100 min for 200 steps\n']);
    now.t += 30_000;
    r.onEvent({ type: 'report', report: report([2], 5.4) });
    expect(err).toHaveLength(1); // once
    expect(out).toEqual([]);
    expect(r.logText()).toBe('{"step":1,"loss":5.5}\n{"step":2,"loss":5.4}\n');
  });

  it('a resumed sweep times its steps from the checkpoint; a rewind forgets the steps to redo', () => {
    const now = { t: 0 };
    const { r, err } = reporter(now);
    r.start(100);
    now.t += 20_000;
    r.onEvent({ type: 'report', report: report([101, 102], 5) });
    expect(err).toEqual(['first 2 steps: 10 s per step; ETA 16 min for 200 steps\n']);
    r.rewind(101);
    expect(r.logText()).toBe('{"step":101,"loss":5}\n');
    const { r: r2, out } = reporter(now);
    r2.onEvent({ type: 'diverged', runId: 'adamw@0.001', step: 3 });
    r2.onEvent({ type: 'diverged', runId: 'adamw@0.001', step: 3 }); // again, after a recovery
    expect(out).toEqual(['run adamw@0.001 diverged at step 3\n']);
  });

  it('the summary shows Cholesky fall-backs of a run that had them', () => {
    const { r, out } = reporter({ t: 0 });
    const run = { id: 'adamw@0.001', losses: [5.5], validation: [], divergedAtStep: null };
    const res = { steps: 1, timings: { totalSeconds: 1, tokensPerSec: 1 } };
    r.summary({ ...res, runs: [{ ...run, choleskyFallbacks: 3 }] } as unknown as SweepResults, 'gpu');
    expect(out[0]).toBe('adamw@0.001: final loss 5.5000, 3 Cholesky fall-backs\n');
    r.summary({ ...res, runs: [{ ...run, choleskyFallbacks: 0 }] } as unknown as SweepResults, 'gpu');
    expect(out[2]).toBe('adamw@0.001: final loss 5.5000\n');
  });

  it('formats durations', () => {
    expect([0.25, 3.21, 75, 600, 36000].map(formatDuration)).toEqual([
      '250 ms',
      '3.2 s',
      '75 s',
      '10 min',
      '10.0 h',
    ]);
  });
});

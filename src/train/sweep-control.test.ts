// Interactive sweeping and checkpoints: add and stop runs while training; restore a sweep bit-exactly.
import { describe, expect, it } from 'vitest';
import { SweepEngine } from './sweep';
import { SweepDriver, type SweepEvent } from './driver';
import { TINY, tinySource, tinySweep, tinyWeights } from './tiny-sweep';
import { testGpu } from '../test/gpu';
import type { RunSpec } from './config';

const runs: RunSpec[] = [
  { id: 'adamw', optimizer: 'adamw', lr: 1e-2 },
  { id: 'radamw', optimizer: 'riemannian-adamw', lr: 1e-2 },
];

function lossesOf(events: SweepEvent[]): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const e of events)
    if (e.type === 'report') e.report.steps.forEach((s, i) => out.set(s, e.report.losses[i]));
  return out;
}

describe('sweep control', () => {
  it('a checkpoint restores the whole state: the next steps are bit-identical', async () => {
    const gpu = await testGpu();
    const config = tinySweep(runs, { steps: 5, order: 'shuffled', seed: 7 });
    const source = tinySource(config);
    const a = new SweepEngine(gpu, TINY, tinyWeights(), config, source);
    for (let i = 0; i < 3; i++) a.submitStep();
    await a.report(1, 3);
    const bytes = await a.checkpoint();
    a.submitStep();
    a.submitStep();
    const straight = await a.report(1, 2);
    const b = SweepEngine.restore(gpu, TINY, tinyWeights(), bytes, source);
    expect(b.step).toBe(3);
    b.submitStep();
    b.submitStep();
    const resumed = await b.report(1, 2);
    expect(resumed.steps).toEqual([4, 5]);
    expect(resumed.losses).toEqual(straight.losses);
    expect(await b.adapter(1)).toEqual(await a.adapter(1));
    a.destroy();
    b.destroy();
  });

  it('runs can be added to and stopped in a running sweep', async () => {
    const gpu = await testGpu();
    const config = tinySweep(runs, { steps: 6 });
    const engine = new SweepEngine(gpu, TINY, tinyWeights(), config, tinySource(config));
    const events: SweepEvent[] = [];
    const driver = new SweepDriver(engine, (e) => {
      events.push(e);
      if (e.type === 'report' && e.report.steps.includes(2) && engine.R === 2) {
        driver.addRun({ id: 'sgd', optimizer: 'sgd', lr: 0.1 });
        driver.stopRun('adamw');
      }
    });
    await driver.run({ reportEveryMs: 0 });
    expect(engine.runSpecs.map((r) => r.id)).toEqual(['adamw', 'radamw', 'sgd']);
    const losses = lossesOf(events);
    expect(losses.get(6)).toHaveLength(3);
    expect(losses.get(6)!.every(Number.isFinite)).toBe(true);
    const host = engine.hostRuns();
    expect(host[2].startStep).toBeGreaterThanOrEqual(2);
    expect(host[0].stoppedAtStep).not.toBeNull();
    // A stopped run is frozen: one more step leaves its adapter as it was; a live run moves.
    const before = [await engine.adapter(0), await engine.adapter(2)];
    engine.submitStep();
    const after = [await engine.adapter(0), await engine.adapter(2)];
    expect(after[0]).toEqual(before[0]);
    expect(after[1].A).not.toEqual(before[1].A);
    engine.destroy();
  });
});

describe('sweepEvents', () => {
  it('patient waits pace the driver by the queue clock and train to the same losses', async () => {
    const gpu = await testGpu();
    const config = tinySweep(runs, { steps: 8 });
    const before = gpu.patientWaits;
    const train = async (patient: boolean) => {
      gpu.patientWaits = patient;
      const engine = new SweepEngine(gpu, TINY, tinyWeights(), config, tinySource(config));
      const pace = gpu.paceSteps.bind(gpu);
      let paced = 0;
      gpu.paceSteps = async (steps) => {
        const on = await pace(steps);
        if (on) paced++;
        return on;
      };
      const events: SweepEvent[] = [];
      try {
        // A report after every step: each drains the queue, so the clock has its three windows after step 3.
        await new SweepDriver(engine, (e) => events.push(e)).run({ reportEveryMs: 0 });
      } finally {
        gpu.paceSteps = pace;
        gpu.patientWaits = before;
        engine.destroy();
      }
      return { losses: lossesOf(events), paced };
    };
    const poll = await train(false);
    const patient = await train(true);
    expect(poll.paced).toBe(0);
    expect(patient.paced).toBeGreaterThan(0);
    expect([...patient.losses.keys()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(patient.losses).toEqual(poll.losses);
  });

  it('streams reports, validation and done in order', async () => {
    const gpu = await testGpu();
    const { sweepEvents } = await import('./driver');
    const config = tinySweep(runs, { steps: 3, valFraction: 0.2, valEvery: 2 });
    const engine = new SweepEngine(gpu, TINY, tinyWeights(), config, tinySource(config));
    const types: string[] = [];
    let lastStep = 0;
    for await (const e of sweepEvents(engine, { reportEveryMs: 0 })) {
      types.push(e.type);
      if (e.type === 'report') {
        expect(e.report.steps[0]).toBe(lastStep + 1);
        lastStep = e.report.steps[e.report.steps.length - 1];
      }
    }
    expect(lastStep).toBe(3);
    expect(types.filter((t) => t === 'validation')).toHaveLength(2); // steps 2 and 3 (the end)
    expect(types[types.length - 1]).toBe('done');
    engine.destroy();
  });
});

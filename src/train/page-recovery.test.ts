// Reliability of the page's sweeps: checkpoints every N steps, 'resume' from one in a new session, and
// a lost GPU device replaced by a new one, training going on from the last checkpoint.
import { describe, expect, it } from 'vitest';
import { Gpu } from '../gpu/context';
import { testGpu } from '../test/gpu';
import { DEFAULT_SWEEP, type RunSpec, type SweepConfig } from './config';
import type { ToEngine } from './messages';
import { pageSession, type Of } from '../test/page-session';
import { tinyText } from './tiny-sweep';

const session = pageSession;

const dataset = (name = 'tiny.txt'): ToEngine => ({
  type: 'parseDataset',
  requestId: 1,
  source: { kind: 'file', name, bytes: new TextEncoder().encode(tinyText(2000)).buffer as ArrayBuffer },
  options: { skipBadLines: false, valFraction: 0.1 },
});

const runs: RunSpec[] = [
  { id: 'adamw', optimizer: 'adamw', lr: 1e-2 },
  { id: 'rsgd', optimizer: 'riemannian-sgd', lr: 1e-2 },
];

const config: SweepConfig = {
  ...DEFAULT_SWEEP,
  lora: { r: 2, alpha: 4, targets: ['c_attn'] },
  steps: 6,
  batch: 2,
  seq: 8,
  order: 'shuffled',
  seed: 3,
  valFraction: 0.1,
  valEvery: 0,
  valBatches: 1,
  runs,
};

/** Training loss rows by step, from metrics messages. */
function lossesByStep(ms: Of<'metrics'>[]): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const m of ms) m.steps.forEach((s, k) => out.set(s, m.losses[k]));
  return out;
}

describe('PageSession reliability', () => {
  it('checkpoints every 2 steps; a new session resumes one and trains the same steps', async () => {
    const a = session();
    await a.send(dataset());
    await a.send({ type: 'start', sweepId: 'c1', model: 'lab-gpt-tiny', sweep: config, checkpointEvery: 2 });
    await a.s.idle();
    expect(a.of('error')).toEqual([]);
    const checkpoints = a.of('checkpoint');
    expect(checkpoints.map((c) => c.step)).toEqual([2, 4]);
    const straight = lossesByStep(a.of('metrics'));
    expect([...straight.keys()]).toEqual([1, 2, 3, 4, 5, 6]);

    const b = session();
    await b.send(dataset());
    await b.send({ type: 'resume', sweepId: 'c2', checkpoint: checkpoints[0].bytes });
    await b.s.idle();
    expect(b.of('error')).toEqual([]);
    expect(b.of('started')[0]).toMatchObject({ sweepId: 'c2', resumedFromStep: 2, totalSteps: 6 });
    const resumed = lossesByStep(b.of('metrics'));
    expect([...resumed.keys()]).toEqual([3, 4, 5, 6]);
    for (const step of [3, 4, 5, 6]) expect(resumed.get(step)).toEqual(straight.get(step));
    const done = b.of('done')[0];
    expect(done.stopped).toBe(false);
    expect(done.adapters.map((x) => x.A)).toEqual(a.of('done')[0].adapters.map((x) => x.A));
    // The checkpoint carries the results and clock up to its step: the resumed results are whole.
    expect(done.results.runs.map((r) => r.losses)).toEqual(a.of('done')[0].results.runs.map((r) => r.losses));
    const firstSeconds = b.of('metrics')[0].seconds[0];
    expect(firstSeconds).toBeGreaterThan(
      a
        .of('metrics')
        .find((m) => m.steps.includes(2))!
        .seconds.at(-1)!,
    );
  });

  it('resume refuses another dataset, with a message naming the one it needs', async () => {
    const a = session();
    await a.send(dataset());
    await a.send({
      type: 'start',
      sweepId: 'c3',
      model: 'lab-gpt-tiny',
      sweep: { ...config, steps: 3 },
      checkpointEvery: 1,
    });
    await a.s.idle();
    const b = session();
    await b.send(dataset('other.txt'));
    await b.send({ type: 'resume', sweepId: 'c4', checkpoint: a.of('checkpoint')[0].bytes });
    expect(b.of('started')).toEqual([]);
    expect(b.of('error')).toMatchObject([{ sweepId: 'c4' }]);
    expect(b.of('error')[0].message).toContain("'tiny.txt'");
  });

  it('a lost GPU device: a new device, resumed from the last checkpoint, steps redone', async () => {
    const first = await Gpu.create();
    let acquired = 0;
    const x = session(async () => (acquired++ === 0 ? first : testGpu()));
    await x.send(dataset());
    x.listeners.push((m) => {
      // Lose the device just after the checkpoint of step 2, while later steps train.
      if (m.type === 'metrics' && m.steps.includes(3) && x.of('checkpoint').length > 0)
        first.device.destroy();
    });
    await x.send({ type: 'start', sweepId: 'c5', model: 'lab-gpt-tiny', sweep: config, checkpointEvery: 2 });
    await x.s.idle();
    expect(x.of('error')).toEqual([]);
    expect(acquired).toBe(2);
    const [rec] = x.of('recovered');
    expect(rec).toMatchObject({ sweepId: 'c5', fromStep: 2 });
    expect(rec.redoneSteps).toBe(rec.lostAtStep - 2);
    expect(rec.lostAtStep).toBeGreaterThanOrEqual(3);
    expect(x.of('started').map((m) => m.resumedFromStep)).toEqual([undefined, 2]);
    const done = x.of('done')[0];
    expect(done.stopped).toBe(false);
    expect(done.results.steps).toBe(6);
    // The results join the losses before the checkpoint with the resumed ones: every step has one.
    expect(done.results.runs.map((r) => r.losses.filter((l) => l !== null).length)).toEqual([6, 6]);
    expect(done.adapters.map((a) => a.status)).toEqual(['done', 'done']);
  });
});

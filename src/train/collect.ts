// Folds a driver's events into a SweepResults object (the JSON the CLI writes and the page downloads).
import type { LabGptConfig } from '../model/config';
import type { SweepDriver, SweepEvent } from './driver';
import type { SweepEngine } from './sweep';
import type { RunResult, RunHyperValues, SweepResults } from './results';
import type { RunSpec } from './config';
import { resolveRunHyper, type OptimizerHyper } from '../optim/optimizer';

function runHyperValues(spec: RunSpec, sweep: OptimizerHyper): RunHyperValues {
  const { kind: _kind, ...values } = resolveRunHyper(spec.optimizer, spec, sweep);
  return values;
}

export function collectResults(
  engine: SweepEngine,
  driver: SweepDriver,
  model: { name: string; cfg: LabGptConfig; fingerprint: string },
  dataset: { name: string; trainTokens: number; valTokens: number },
): { finish(): SweepResults; onEvent(e: SweepEvent): void } {
  const byId = new Map<string, RunResult>();
  let seconds = 0;
  const run = (i: number): RunResult => {
    const host = engine.hostRuns()[i];
    let r = byId.get(host.spec.id);
    if (!r) {
      r = {
        id: host.spec.id,
        optimizer: host.spec.optimizer,
        lr: host.spec.lr,
        startStep: host.startStep,
        losses: [],
        validation: [],
        divergedAtStep: null,
        stoppedAtStep: null,
        choleskyFallbacks: 0,
        gradNorm: null,
        updateNorm: null,
        hyper: runHyperValues(host.spec, engine.config.hyper),
      };
      byId.set(host.spec.id, r);
    }
    return r;
  };
  const onEvent = (e: SweepEvent) => {
    if (e.type === 'report') {
      const rep = e.report;
      rep.steps.forEach((step, k) => {
        rep.losses[k].forEach((loss, i) => {
          const r = run(i);
          while (r.losses.length < step - 1) r.losses.push(null);
          r.losses[step - 1] = step > r.startStep ? loss : null;
        });
      });
      rep.divergedAtStep.forEach((s, i) => {
        const r = run(i);
        r.divergedAtStep = s;
        r.choleskyFallbacks = rep.choleskyFallbacks[i];
        r.gradNorm = rep.gradNorm[i];
        r.updateNorm = rep.updateNorm[i];
      });
    } else if (e.type === 'validation') {
      e.losses.forEach((loss, i) => run(i).validation.push({ step: e.step, loss }));
    } else if (e.type === 'done') {
      seconds = e.seconds;
    }
  };
  const previous = driver.onEvent;
  driver.onEvent = (e) => {
    onEvent(e);
    previous(e);
  };
  return {
    onEvent,
    finish(): SweepResults {
      engine.hostRuns().forEach((h, i) => (run(i).stoppedAtStep = h.stoppedAtStep));
      const steps = engine.step;
      const tokens =
        engine.hostRuns().reduce((acc, h) => acc + (steps - h.startStep), 0) *
        engine.config.batch *
        engine.config.seq;
      const info = engine.gpu.info;
      return {
        version: 1,
        config: { ...engine.config, runs: engine.runSpecs },
        model: {
          name: model.name,
          n_layer: model.cfg.n_layer,
          n_head: model.cfg.n_head,
          n_embd: model.cfg.n_embd,
          n_positions: model.cfg.n_positions,
          vocab_size: model.cfg.vocab_size,
          fingerprint: model.fingerprint,
        },
        dataset,
        adapter: { vendor: info.vendor, architecture: info.architecture, description: info.description },
        steps,
        timings: {
          totalSeconds: seconds,
          secondsPerStep: steps > 0 ? seconds / steps : 0,
          tokensPerSec: seconds > 0 ? tokens / seconds : 0,
        },
        runs: engine.runSpecs.map((_, i) => run(i)),
      };
    },
  };
}

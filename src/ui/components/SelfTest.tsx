import type { SelfTestState } from '../use-engine';

export function SelfTest({
  state,
  ready,
  onRun,
}: {
  state: SelfTestState;
  ready: boolean;
  onRun: () => void;
}) {
  return (
    <div className="self-test">
      <button type="button" className="small" onClick={onRun} disabled={!ready || state.kind === 'running'}>
        Run engine self-test
      </button>
      <p role="status" aria-label="Self-test" className="hint">
        {state.kind === 'running' && 'Training a tiny model for 3 steps on this GPU…'}
        {state.kind === 'done' &&
          `${state.result.passed ? 'Passed' : 'FAILED'}: step-1 loss ${state.result.gpuLosses.map((l) => l.toFixed(6)).join(', ')} on the GPU, ${state.result.referenceLoss.toFixed(6)} in float64 (${state.result.seconds.toFixed(1)} s)`}
        {state.kind === 'error' && `Self-test error: ${state.text}`}
      </p>
    </div>
  );
}

// The selected model's card: what it is, where it came from, and whether a sweep of the current settings
// fits this GPU (the engine's own planning, train/memory.ts, asked of the Worker as settings change).
import type { ModelCard, SweepPlanSummary } from '../../train/messages';
import { formatCount, formatMemory } from '../format';

export type PlanState =
  | { kind: 'none' }
  | { kind: 'waiting' }
  /** The settings have errors: nothing to plan until they are fixed. */
  | { kind: 'settings' }
  | { kind: 'ready'; plan: SweepPlanSummary }
  | { kind: 'error'; message: string };

const SOURCES: Record<ModelCard['source'], string> = {
  builtin: 'built into the page',
  _name_or_path: 'opened from your files (name from config.json)',
  folder: 'opened from your files (named after their folder)',
  config: 'opened from your files (named after its shape in config.json)',
};

export function ModelCardView({ card, plan }: { card: ModelCard; plan: PlanState }) {
  const opened = card.source !== 'builtin';
  return (
    <div className="model-card" role="group" aria-label="Model card">
      <p className="model-card-name">
        <strong>{card.name}</strong> <span className="hint">· {SOURCES[card.source]}</span>
      </p>
      <dl>
        <dt>Layers × width</dt>
        <dd>
          {card.layers} × {card.width} ({card.heads} heads, {card.positions.toLocaleString('en-US')}{' '}
          positions)
        </dd>
        <dt>Parameters</dt>
        <dd>{formatCount(card.parameters)}</dd>
        <dt>Vocabulary</dt>
        <dd>
          {card.vocabSize.toLocaleString('en-US')} ·{' '}
          {card.tokenizer === 'bytes' ? 'UTF-8 bytes' : 'its tokenizer.json'}
        </dd>
        <dt>Weights</dt>
        <dd>{card.dtype === 'F32' ? 'float32' : `${card.dtype}, float32 on the GPU`}</dd>
        <dt>GPU memory</dt>
        <dd aria-label="GPU memory of a sweep">
          <PlanText plan={plan} />
        </dd>
      </dl>
      {opened && (
        <p className="hint">
          Files stay in this tab: nothing is uploaded or stored, so a reload needs them again.
        </p>
      )}
    </div>
  );
}

function PlanText({ plan }: { plan: PlanState }) {
  switch (plan.kind) {
    case 'none':
      return <>—</>;
    case 'waiting':
      return <>planning…</>;
    case 'settings':
      return <>fix the sweep settings to see what a sweep needs</>;
    case 'error':
      return <>not planned: {plan.message}</>;
    case 'ready': {
      const p = plan.plan;
      const head = `${formatMemory(p.bytes)} for ${p.runs} ${p.runs === 1 ? 'run' : 'runs'}`;
      if (p.problems.length === 0)
        return (
          <span className="fits" data-fits="true">
            {head} · fits this GPU’s limits
          </span>
        );
      return (
        <span className="does-not-fit" data-fits="false">
          {head} · does not fit this GPU: {p.problems.slice(0, 2).join('; ')}
          {p.problems.length > 2 ? ` (and ${p.problems.length - 2} more)` : ''}. To fit, {p.advice}.
        </span>
      );
    }
  }
}

// What an exported adapter says about its run, for the page's zip and the CLI's --save-adapter alike:
// the run and how it ended in the safetensors metadata (free-form, which PEFT ignores; adapter_config.json
// stays exactly as PEFT expects it), and a README.md for people.
import { readSafetensors, writeSafetensors } from './safetensors';

export interface AdapterCard {
  runId: string;
  /**
   * "done", "stopped at step N", "training, at step N", or "diverged at step N; weights from step N − 1,
   * ..." (runStatus): a diverged run exports the weights of its last step whose loss passed the guard.
   */
  status: string;
  baseModel: string;
  optimizer?: string;
  lr?: number;
  lora: { r: number; alpha: number; targets: readonly string[] };
  /** The base model's shape, for the README. */
  model: { n_layer: number; n_embd: number };
  /**
   * NaN/Inf weights. The engine exports a diverged run's last good weights (SweepEngine.adapter), so this
   * is 0 there too; still counted and said if it ever is not, never hidden or patched.
   */
  nonFinite?: number;
}

/** How many of the adapter's values are NaN or ±Inf. */
export function countNonFinite(...arrays: Float32Array[]): number {
  let n = 0;
  for (const a of arrays) for (const x of a) if (!Number.isFinite(x)) n++;
  return n;
}

/** How a run ended (or where it is), as exports and the page word it. */
export function runStatus(
  run: { stoppedAtStep: number | null },
  divergedAtStep: number | null,
  step: number,
  total: number,
  finished: boolean,
): string {
  if (divergedAtStep !== null) return divergedStatus(divergedAtStep);
  if (run.stoppedAtStep !== null) return `stopped at step ${run.stoppedAtStep}`;
  if (!finished) return `training, at step ${step}`;
  return step >= total ? 'done' : `stopped at step ${step}`;
}

/** A diverged run's export holds the weights its last loss that passed the guard was measured on. */
export function divergedStatus(step: number): string {
  return step > 1
    ? `diverged at step ${step}; weights from step ${step - 1}, the last step whose loss passed the divergence guard`
    : `diverged at step ${step}; weights are the initial adapter (no step had a loss that passed the divergence guard)`;
}

/** PEFT's adapter_model.safetensors with the run and its status added to the metadata. */
export function labelAdapter(safetensors: Uint8Array, card: AdapterCard): Uint8Array {
  const { tensors, metadata } = readSafetensors(safetensors);
  const runMeta: Record<string, string> = {
    'lora-lab.run': card.runId,
    'lora-lab.status': card.status,
    'lora-lab.base_model': card.baseModel,
  };
  if (card.optimizer !== undefined) runMeta['lora-lab.optimizer'] = card.optimizer;
  if (card.lr !== undefined) runMeta['lora-lab.lr'] = String(card.lr);
  if (card.nonFinite) runMeta['lora-lab.non_finite_values'] = String(card.nonFinite);
  return writeSafetensors(tensors, { ...metadata, ...runMeta });
}

export function adapterReadme(card: AdapterCard): string {
  const spec = card.optimizer !== undefined ? ` (${card.optimizer}, learning rate ${card.lr})` : '';
  const partial =
    card.status === 'done'
      ? ''
      : card.status.startsWith('diverged')
        ? '\nThe run did not finish its schedule: it diverged, and these are its last good weights (the ones its last finite, in-bounds loss was measured on), not the frozen weights whose loss went bad.\n'
        : '\nThe run did not finish its schedule; the weights are those it had when it ended.\n';
  const broken = card.nonFinite
    ? `\n**${card.nonFinite} of its weights are NaN or Inf** (the update before the divergence overflowed): this adapter is kept as a record and will not give usable outputs.\n`
    : '';
  return `# LoRA adapter: ${card.runId}

Trained in LoRA Lab on the base model \`${card.baseModel}\`${spec}.

Status: **${card.status}**
${partial}${broken}
- LoRA rank r = ${card.lora.r}, alpha = ${card.lora.alpha}, targets: ${card.lora.targets.join(', ')}
- Base model: GPT-2 architecture, byte-level vocabulary (256), ${card.model.n_layer} layer(s), n_embd ${card.model.n_embd}

Load it with PEFT on a \`GPT2LMHeadModel\` of the same config:

\`\`\`python
from peft import PeftModel
model = PeftModel.from_pretrained(base_model, "path/to/this/folder")
\`\`\`
`;
}

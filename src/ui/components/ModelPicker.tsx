import { BUILTIN_MODELS, type BuiltinModel } from '../../train/messages';

const DESCRIPTIONS: Record<BuiltinModel, string> = {
  'lab-gpt': 'lab-gpt · 4 layers × 256',
  'lab-gpt-tiny': 'lab-gpt-tiny · 1 layer × 32',
};

export function ModelPicker({
  model,
  onChange,
  disabled,
}: {
  model: BuiltinModel;
  onChange: (m: BuiltinModel) => void;
  disabled: boolean;
}) {
  return (
    <section className="panel" aria-labelledby="model-title">
      <h2 id="model-title">1 · Model</h2>
      <label className="sr-only" htmlFor="model-select">
        Base model
      </label>
      <select
        id="model-select"
        value={model}
        disabled={disabled}
        onChange={(e) => onChange(e.target.value as BuiltinModel)}
      >
        {BUILTIN_MODELS.map((m) => (
          <option key={m} value={m}>
            {DESCRIPTIONS[m]}
          </option>
        ))}
      </select>
      <p className="hint">
        Byte-level GPT-2s pretrained by the project; LoRA adapters train on top. lab-gpt-tiny suits CPU
        emulation.
      </p>
    </section>
  );
}

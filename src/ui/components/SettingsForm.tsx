// 3 · Sweep: every setting of the sweep, each refused beside its field when invalid.
import { LORA_TARGETS, type LoraTarget } from '../../model/lora-layout';
import { OPTIMIZERS, type OptimizerKind } from '../../optim/optimizer';
import type { Decay } from '../../train/schedule';
import {
  DECAYS,
  OPTIMIZER_LABELS,
  type Settings,
  type SettingsAction,
  type SettingsErrors,
} from '../state/settings';
import { NumberField } from './Field';
import { LrRangeField } from './LrRangeField';
import { SecondAxisField } from './SecondAxisField';
import { formatLr } from '../charts/formatLr';

export interface SettingsFormProps {
  settings: Settings;
  errors: SettingsErrors;
  disabled: boolean;
  dispatch: (a: SettingsAction) => void;
  children?: React.ReactNode;
}

function toggle<T>(list: readonly T[], item: T, on: boolean, order: readonly T[]): T[] {
  const set = new Set(list);
  if (on) set.add(item);
  else set.delete(item);
  return order.filter((v) => set.has(v));
}

export function SettingsForm({ settings: s, errors, disabled, dispatch, children }: SettingsFormProps) {
  const set = (patch: Partial<Omit<Settings, 'chart'>>) => dispatch({ type: 'set', patch });
  const advancedErrors = !!(
    errors.warmup ||
    errors.weightDecay ||
    errors.damping ||
    errors.seed ||
    errors.valEvery ||
    errors.valFraction
  );
  return (
    <section className="panel" aria-labelledby="sweep-title">
      <h2 id="sweep-title">3 · Sweep</h2>
      <LrRangeField
        lrMin={s.lrMin}
        lrMax={s.lrMax}
        lrCount={s.lrCount}
        lrs={s.lrs}
        errors={errors}
        disabled={disabled}
        onRange={(r) => dispatch({ type: 'lrRange', ...r })}
        onList={(lrs) => set({ lrs })}
      />
      {Object.keys(s.lrsByOptimizer).length > 0 && (
        <div className="notice per-optimizer-lrs" role="note" aria-label="Learning rates per optimizer">
          <p>The preset gives each optimizer its own learning rates (they replace the list above):</p>
          <ul>
            {OPTIMIZERS.filter((o) => s.lrsByOptimizer[o] && s.optimizers.includes(o)).map((o) => (
              <li key={o}>
                {OPTIMIZER_LABELS[o]}: {s.lrsByOptimizer[o]!.map(formatLr).join(', ')}
              </li>
            ))}
          </ul>
          <button
            type="button"
            className="link"
            disabled={disabled}
            onClick={() => set({ lrsByOptimizer: {} })}
          >
            Use the list above for every optimizer
          </button>
        </div>
      )}
      <fieldset aria-describedby={errors.optimizers ? 'opt-err' : undefined}>
        <legend>Optimizers to compare</legend>
        <div className="checks">
          {OPTIMIZERS.map((o: OptimizerKind) => (
            <label key={o} className="check">
              <input
                type="checkbox"
                checked={s.optimizers.includes(o)}
                disabled={disabled}
                onChange={(e) => set({ optimizers: toggle(s.optimizers, o, e.target.checked, OPTIMIZERS) })}
              />
              {OPTIMIZER_LABELS[o]}
            </label>
          ))}
        </div>
        {errors.optimizers && (
          <span id="opt-err" role="alert" className="field-error">
            {errors.optimizers}
          </span>
        )}
      </fieldset>
      <SecondAxisField
        axis={s.secondAxis}
        values={s.secondValues}
        error={errors.secondValues}
        disabled={disabled}
        onChange={(patch) => set(patch)}
      />
      <fieldset>
        <legend>LoRA</legend>
        <div className="row">
          <NumberField
            label="Rank"
            value={s.r}
            error={errors.r}
            disabled={disabled}
            onChange={(r) => set({ r })}
          />
          <NumberField
            label="Alpha"
            value={s.alpha}
            error={errors.alpha}
            disabled={disabled}
            onChange={(alpha) => set({ alpha })}
          />
        </div>
        <div
          className="checks"
          role="group"
          aria-label="Targets"
          aria-describedby={errors.targets ? 'targets-err' : undefined}
        >
          {LORA_TARGETS.map((t: LoraTarget) => (
            <label key={t} className="check">
              <input
                type="checkbox"
                checked={s.targets.includes(t)}
                disabled={disabled}
                onChange={(e) => set({ targets: toggle(s.targets, t, e.target.checked, LORA_TARGETS) })}
              />
              <code>{t}</code>
            </label>
          ))}
        </div>
        {errors.targets && (
          <span id="targets-err" role="alert" className="field-error">
            {errors.targets}
          </span>
        )}
      </fieldset>
      <fieldset>
        <legend>Schedule</legend>
        <div className="row">
          <NumberField
            label="Steps"
            value={s.steps}
            error={errors.steps}
            disabled={disabled}
            onChange={(steps) => set({ steps })}
          />
          <NumberField
            label="Batch"
            value={s.batch}
            error={errors.batch}
            disabled={disabled}
            onChange={(batch) => set({ batch })}
          />
          <NumberField
            label="Sequence length"
            value={s.seq}
            error={errors.seq}
            disabled={disabled}
            onChange={(seq) => set({ seq })}
          />
        </div>
      </fieldset>
      <details className="advanced" open={advancedErrors || undefined}>
        <summary>More: warm-up, decay, weight decay, damping δ, seed, validation</summary>
        <div className="row">
          <NumberField
            label="Warm-up steps"
            value={s.warmup}
            error={errors.warmup}
            disabled={disabled}
            onChange={(warmup) => set({ warmup })}
          />
          <div className="field">
            <label htmlFor="decay-select">Decay</label>
            <select
              id="decay-select"
              value={s.decay}
              disabled={disabled}
              onChange={(e) => set({ decay: e.target.value as Decay })}
            >
              {DECAYS.map((d) => (
                <option key={d} value={d}>
                  {d}
                </option>
              ))}
            </select>
          </div>
        </div>
        <div className="row">
          <NumberField
            label="Weight decay"
            value={s.weightDecay}
            error={errors.weightDecay}
            disabled={disabled}
            onChange={(weightDecay) => set({ weightDecay })}
          />
          <NumberField
            label="Damping δ"
            value={s.damping}
            error={errors.damping}
            disabled={disabled}
            onChange={(damping) => set({ damping })}
          />
          <NumberField
            label="Seed"
            value={s.seed}
            error={errors.seed}
            disabled={disabled}
            onChange={(seed) => set({ seed })}
          />
        </div>
        <div className="row">
          <NumberField
            label="Validate every (steps)"
            value={s.valEvery}
            error={errors.valEvery}
            disabled={disabled}
            hint="0 = only at the end"
            onChange={(valEvery) => set({ valEvery })}
          />
          <NumberField
            label="Validation share"
            value={s.valFraction}
            error={errors.valFraction}
            disabled={disabled}
            onChange={(valFraction) => set({ valFraction })}
          />
        </div>
      </details>
      {children}
    </section>
  );
}

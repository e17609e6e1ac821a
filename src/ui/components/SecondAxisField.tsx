// The sweep's second axis: which per-run hyper-parameter is swept against the learning rate, and its
// values (each one a run per learning rate, for the optimizers it acts on).
import { useEffect, useId, useState } from 'react';
import {
  AXIS_DEFAULT_VALUES,
  AXIS_HINTS,
  AXIS_LABELS,
  formatAxisValue,
  SECOND_AXES,
  type SecondAxis,
} from '../state/second-axis';
import { parseLrList } from './LrRangeField';

export interface SecondAxisFieldProps {
  axis: SecondAxis;
  values: number[];
  error?: string;
  disabled: boolean;
  onChange: (patch: { secondAxis?: SecondAxis; secondValues: number[] }) => void;
}

const listText = (vs: number[]) => vs.map(formatAxisValue).join(', ');

export function SecondAxisField({ axis, values, error, disabled, onChange }: SecondAxisFieldProps) {
  const id = useId();
  const [text, setText] = useState(listText(values));
  useEffect(() => {
    setText((t) => {
      const parsed = parseLrList(t);
      return parsed.length === values.length && parsed.every((v, i) => v === values[i])
        ? t
        : listText(values);
    });
  }, [values]);
  const hintId = `${id}-hint`;
  const errId = `${id}-err`;
  return (
    <fieldset className="second-axis">
      <legend>Second axis</legend>
      <div className="row">
        <div className="field">
          <label htmlFor={`${id}-axis`}>Sweep also over</label>
          <select
            id={`${id}-axis`}
            value={axis}
            disabled={disabled}
            aria-describedby={hintId}
            onChange={(e) => {
              const next = e.target.value as SecondAxis;
              onChange({
                secondAxis: next,
                secondValues: next === 'none' ? [] : [...AXIS_DEFAULT_VALUES[next]],
              });
            }}
          >
            {SECOND_AXES.map((a) => (
              <option key={a} value={a}>
                {AXIS_LABELS[a]}
              </option>
            ))}
          </select>
        </div>
        {axis !== 'none' && (
          <div className="field field-wide">
            <label htmlFor={`${id}-values`}>{`${AXIS_LABELS[axis]} values`}</label>
            <input
              id={`${id}-values`}
              type="text"
              value={text}
              disabled={disabled}
              aria-invalid={error ? true : undefined}
              aria-describedby={[error ? errId : '', hintId].filter(Boolean).join(' ')}
              onChange={(e) => {
                setText(e.target.value);
                onChange({ secondValues: parseLrList(e.target.value) });
              }}
            />
            {error && (
              <span id={errId} role="alert" className="field-error">
                {error}
              </span>
            )}
          </div>
        )}
      </div>
      <span id={hintId} className="hint">
        {AXIS_HINTS[axis]}
      </span>
    </fieldset>
  );
}

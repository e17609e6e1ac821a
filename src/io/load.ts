// Base model loading: config.json (HF GPT-2 keys) + weights from an ONNX file's initializers or safetensors.
import { readOnnxWeights } from './onnx';
import { readSafetensors } from './safetensors';
import { parameterShapes, parseConfig, type LabGptConfig, type Weights } from '../model/config';

export interface BaseModel {
  name: string;
  cfg: LabGptConfig;
  weights: Weights;
}

/** Check every parameter of the config is present with its shape; extra initializers are ignored. */
export function checkWeights(
  cfg: LabGptConfig,
  tensors: Map<string, { dims: number[]; data: Float32Array }>,
  source: string,
): Weights {
  const w: Weights = new Map();
  for (const [name, shape] of parameterShapes(cfg)) {
    const t = tensors.get(name);
    if (!t) throw new Error(`${source}: missing weight ${name}`);
    if (t.dims.length !== shape.length || t.dims.some((d, i) => d !== shape[i])) {
      throw new Error(
        `${source}: ${name} has shape [${t.dims.join(', ')}], the config needs [${shape.join(', ')}]`,
      );
    }
    w.set(name, t.data);
  }
  return w;
}

export function loadBaseModel(
  name: string,
  configJson: string,
  weightBytes: Uint8Array,
  format: 'onnx' | 'safetensors',
): BaseModel {
  let json: unknown;
  try {
    json = JSON.parse(configJson);
  } catch (e) {
    throw new Error(`${name}: config.json is not valid JSON (${(e as Error).message})`);
  }
  const cfg = parseConfig(json);
  const tensors =
    format === 'onnx'
      ? readOnnxWeights(weightBytes)
      : new Map(
          [...readSafetensors(weightBytes).tensors].map(([k, t]) => [k, { dims: t.shape, data: t.data }]),
        );
  return { name, cfg, weights: checkWeights(cfg, tensors, name) };
}

import type { GpuInfo } from '../../gpu/device';
import { formatStepTime } from '../format';

export type GpuState =
  { kind: 'waiting' } | { kind: 'ready'; info: GpuInfo } | { kind: 'missing'; reason: string };

export function adapterName(info: GpuInfo): string {
  return (
    `${info.vendor} ${info.architecture} ${info.description}`.replace(/\s+/g, ' ').trim() || 'unnamed adapter'
  );
}

export function GpuBadge({ gpu, secondsPerStep }: { gpu: GpuState; secondsPerStep: number | null }) {
  return (
    <div className="gpu">
      <p
        role="status"
        aria-label="GPU"
        className={`badge ${gpu.kind === 'ready' ? (gpu.info.isSoftware ? 'badge-warn' : 'badge-ok') : gpu.kind === 'missing' ? 'badge-bad' : ''}`}
      >
        {gpu.kind === 'waiting' && 'Looking for a WebGPU adapter…'}
        {gpu.kind === 'ready' && `WebGPU adapter: ${adapterName(gpu.info)}`}
        {gpu.kind === 'missing' && 'WebGPU not available'}
      </p>
      {gpu.kind === 'ready' && gpu.info.isSoftware && (
        <p className="gpu-note" aria-label="CPU emulation">
          CPU emulation (SwiftShader): about 1000× slower than a GPU; use lab-gpt-tiny.
          {secondsPerStep !== null && ` One step takes ${formatStepTime(secondsPerStep)} here.`}
        </p>
      )}
    </div>
  );
}

// Per-run gradient and update norms (L2 over all LoRA parameters of a run), sampled every few steps:
// `before` runs ahead of the optimizer (Σ g², and a copy of A, B), `after` behind it (Σ (p' − p)²).
import type { Dispatch, Gpu } from '../gpu/context';
import { ELEMENTWISE_OP, elementwise } from '../kernels/elementwise';
import { runSums } from '../kernels/reduce';
import type { LoraState } from '../model/buffers';
import type { LoraLayout } from '../model/lora-layout';

export class UpdateNorms {
  readonly before: Dispatch[];
  readonly after: Dispatch[];
  private readonly sq: { gA: GPUBuffer; gB: GPUBuffer; dA: GPUBuffer; dB: GPUBuffer };
  private readonly owned: GPUBuffer[];

  constructor(
    private readonly gpu: Gpu,
    layout: LoraLayout,
    private readonly R: number,
    lora: LoraState,
  ) {
    const { SA, SB } = layout;
    const buf = (n: number, label: string) => gpu.buffer(n * 4, label);
    this.sq = { gA: buf(R, 'gradSqA'), gB: buf(R, 'gradSqB'), dA: buf(R, 'updSqA'), dB: buf(R, 'updSqB') };
    const flags = buf(R, 'normFlags'); // runSums' non-finite flags: unused here
    const prevA = buf(R * SA, 'prevA'); // [R, SA]
    const prevB = buf(R * SB, 'prevB');
    const deltaA = buf(R * SA, 'deltaA');
    const deltaB = buf(R * SB, 'deltaB');
    this.owned = [...Object.values(this.sq), flags, prevA, prevB, deltaA, deltaB];
    const sums = (x: GPUBuffer, out: GPUBuffer, per: number) =>
      gpu.prepare(runSums, { x, sums: out, flags }, { R, n: per, square: 1 });
    const ew = (op: 'copy' | 'sub', a: GPUBuffer, b: GPUBuffer, out: GPUBuffer, count: number) =>
      gpu.prepare(elementwise, { a, b, out }, { n: count, m: count }, { OP: ELEMENTWISE_OP[op] });
    this.before = [
      sums(lora.dA, this.sq.gA, SA),
      sums(lora.dB, this.sq.gB, SB),
      ew('copy', lora.A, lora.A, prevA, R * SA),
      ew('copy', lora.B, lora.B, prevB, R * SB),
    ];
    this.after = [
      ew('sub', lora.A, prevA, deltaA, R * SA),
      ew('sub', lora.B, prevB, deltaB, R * SB),
      sums(deltaA, this.sq.dA, SA),
      sums(deltaB, this.sq.dB, SB),
    ];
  }

  /** The last sampled norms per run. */
  async read(): Promise<{ gradNorm: number[]; updateNorm: number[] }> {
    return this.fromData(await this.gpu.readManyF32(this.sources()));
  }

  /** What read() reads, for a caller that reads it along with other buffers (Gpu.readManyF32). */
  sources(): { src: GPUBuffer; count: number }[] {
    const { gA, gB, dA, dB } = this.sq;
    return [gA, gB, dA, dB].map((src) => ({ src, count: this.R }));
  }

  /** The norms from sources()'s data, in its order. */
  fromData([a, b, c, d]: Float32Array[]): { gradNorm: number[]; updateNorm: number[] } {
    const norm = (x: Float32Array, y: Float32Array) => Array.from(x, (v, i) => Math.sqrt(v + y[i]));
    return { gradNorm: norm(a, b), updateNorm: norm(c, d) };
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
  }
}

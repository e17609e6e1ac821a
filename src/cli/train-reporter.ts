// What `lora-lab train/sweep` tells its user while it works: the adapter it runs on, how long a step
// takes and when it will finish, progress (on a terminal), validation and divergence lines, the --log
// lines and the final summary. stdout keeps the machine-read lines; stderr gets the human ones.
import type { GpuInfo } from '../gpu/device';
import type { SweepEvent } from '../train/driver';
import type { SweepResults } from '../train/results';

export interface Writer {
  write(s: string): unknown;
}

export interface ReporterOptions {
  out: Writer;
  err: Writer;
  /** A terminal on stderr: a progress bar redrawn in place instead of per-validation lines on stdout. */
  tty: boolean;
  runIds: readonly string[];
  totalSteps: number;
  now?: () => number;
}

/** 75 s, 12 min, 3.2 h. */
export function formatDuration(seconds: number): string {
  if (seconds < 1) return `${(seconds * 1000).toFixed(0)} ms`;
  if (seconds < 120) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(0)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function progressLine(
  step: number,
  total: number,
  losses: readonly number[],
  ids: readonly string[],
  tokensPerSec: number,
  etaSeconds: number | undefined,
): string {
  const width = 24;
  const filled = Math.round((step / total) * width);
  const best = losses
    .map((l, i) => [l, ids[i]] as const)
    .filter(([l]) => Number.isFinite(l))
    .sort((a, b) => a[0] - b[0])[0];
  const eta = etaSeconds !== undefined && step < total ? `  ETA ${formatDuration(etaSeconds)}` : '';
  return `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${step}/${total}  ${tokensPerSec.toFixed(0)} tok/s${eta}${best ? `  best ${best[1]} ${best[0].toFixed(4)}` : ''}   `;
}

export class TrainReporter {
  private logLines: { step: number; line: string }[] = [];
  private readonly now: () => number;
  private readonly single: boolean;
  private started = 0;
  private fromStep = 0;
  /** Runs already said to have diverged: a sweep redone from a checkpoint reports them again. */
  private readonly diverged = new Set<string>();
  private secondsPerStep: number | undefined;
  /** The adapter is a CPU fallback: compiling and the first step take tens of seconds, so both are announced. */
  private software = false;
  private preparedAt: number | undefined;

  constructor(private readonly o: ReporterOptions) {
    this.now = o.now ?? (() => performance.now());
    this.single = o.runIds.length === 1;
  }

  /** Which adapter runs the sweep; on a CPU fallback, say so before the long silence of the first step. */
  device(info: GpuInfo): void {
    const name = info.description || [info.vendor, info.architecture].filter(Boolean).join(' ') || 'unknown';
    this.o.err.write(`WebGPU adapter: ${name}\n`);
    this.software = info.isSoftware;
    if (info.isSoftware)
      this.o.err.write(
        'this adapter is a CPU fallback (SwiftShader), about 1000× slower than a GPU: expect slow steps\n',
      );
  }

  /** Call before the engine compiles its kernels (each time one is built). On a CPU fallback, says so. */
  preparing(): void {
    this.preparedAt = this.now();
    if (this.software) this.o.err.write('compiling the GPU kernels…\n');
  }

  /**
   * Call right before the first step is submitted (of a resumed sweep: the step after `fromStep`). On a CPU
   * fallback, says how long the kernels took and that the first step is running.
   */
  start(fromStep = 0): void {
    this.started = this.now();
    this.fromStep = fromStep;
    if (this.software) {
      const took =
        this.preparedAt === undefined
          ? ''
          : `kernels ready in ${formatDuration((this.started - this.preparedAt) / 1000)}; `;
      this.o.err.write(`${took}step ${fromStep + 1} of ${this.o.totalSteps} running…\n`);
    }
  }

  /** A sweep going back to a checkpoint: forget the log lines after its step (they will be redone). */
  rewind(step: number): void {
    this.logLines = this.logLines.filter((l) => l.step <= step);
  }

  private log(fields: Record<string, string | number>, run: number): void {
    const { step, ...rest } = fields;
    const line = JSON.stringify(this.single ? fields : { step, run: this.o.runIds[run], ...rest });
    this.logLines.push({ step: Number(step), line });
  }

  onEvent(e: SweepEvent): void {
    const { out, err, tty, runIds, totalSteps } = this.o;
    if (e.type === 'report') {
      const r = e.report;
      r.steps.forEach((step, i) => r.losses[i].forEach((loss, run) => this.log({ step, loss }, run)));
      const step = r.steps[r.steps.length - 1];
      if (step === undefined) return;
      const done = step - this.fromStep;
      if (this.secondsPerStep === undefined) {
        this.secondsPerStep = (this.now() - this.started) / 1000 / done;
        const eta = this.secondsPerStep * (totalSteps - step);
        err.write(
          `${done === 1 ? 'first step' : `first ${done} steps`}: ${formatDuration(this.secondsPerStep)} per step; ` +
            `ETA ${formatDuration(eta)} for ${totalSteps} steps\n`,
        );
      } else {
        this.secondsPerStep = (this.now() - this.started) / 1000 / done;
      }
      if (tty)
        err.write(
          progressLine(
            step,
            totalSteps,
            r.losses[r.losses.length - 1],
            runIds,
            r.tokensPerSec,
            this.secondsPerStep * (totalSteps - step),
          ),
        );
    } else if (e.type === 'validation') {
      e.losses.forEach((loss, run) => this.log({ step: e.step, val_loss: loss }, run));
      if (!tty)
        out.write(
          `step ${e.step}: validation ${e.losses.map((l, r) => `${runIds[r]}=${l.toFixed(4)}`).join(' ')}\n`,
        );
    } else if (e.type === 'diverged') {
      if (this.diverged.has(e.runId)) return;
      this.diverged.add(e.runId);
      if (tty) err.write('\n');
      out.write(`run ${e.runId} diverged at step ${e.step}\n`);
    } else if (e.type === 'done') {
      if (tty) err.write('\n');
    }
  }

  /** The --log file's content: one JSON object per run per step, plus validation lines. */
  logText(): string {
    return this.logLines.map((l) => l.line).join('\n') + '\n';
  }

  /** Final loss (and validation) per run, then the totals and the adapter. */
  summary(res: SweepResults, adapterName: string): void {
    for (const run of res.runs) {
      const last = [...run.losses].reverse().find((l) => l !== null && Number.isFinite(l));
      const val = run.validation[run.validation.length - 1];
      this.o.out.write(
        `${run.id}: final loss ${last?.toFixed(4) ?? 'n/a'}${val ? `, validation ${val.loss.toFixed(4)}` : ''}${run.divergedAtStep ? `, diverged at step ${run.divergedAtStep}` : ''}${run.choleskyFallbacks > 0 ? `, ${run.choleskyFallbacks} Cholesky fall-backs` : ''}\n`,
      );
    }
    this.o.out.write(
      `${res.steps} steps in ${res.timings.totalSeconds.toFixed(1)} s, ${res.timings.tokensPerSec.toFixed(0)} tokens/s (${adapterName})\n`,
    );
  }

  note(line: string): void {
    this.o.out.write(line + '\n');
  }
}

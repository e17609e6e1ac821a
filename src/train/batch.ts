// The sweep's batches: training batch k in the configured order, and the fixed validation batches.
import { checkBatchable, trainingBatch, validationBatches, type Batch } from '../data/batches';
import { splitDataset, type TokenizedDataset } from '../data/dataset';
import type { SweepConfig } from './config';

export type { Batch };

export interface BatchSource {
  /** The k-th training batch (k = 0, 1, ...). */
  train(k: number): Batch;
  /** Fixed validation batches (possibly none). */
  validation(): Batch[];
  trainTokens: number;
  valTokens: number;
}

export function batchSource(
  ds: TokenizedDataset,
  c: Pick<SweepConfig, 'batch' | 'seq' | 'order' | 'seed' | 'valFraction' | 'valBatches'>,
): BatchSource {
  const { train, val } = splitDataset(ds, c.valFraction);
  checkBatchable(train, c.batch, c.seq);
  const valBatches = val ? validationBatches(val, c.batch, c.seq, c.valBatches) : [];
  return {
    train: (k) => trainingBatch(train, k, { Bt: c.batch, T: c.seq, order: c.order, seed: c.seed }),
    validation: () => valBatches,
    trainTokens: train.tokens.length,
    valTokens: val?.tokens.length ?? 0,
  };
}

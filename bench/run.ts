// `npm run bench`: kernel micro-benchmarks, training steps and an R-sweep on the engine, as a table and
// JSON. On SwiftShader (no GPU) it runs toy sizes and says so. `compare <ours.json> <peer.json>` prints
// our figures next to the PyTorch peer's (bench/peers/torch_sweep.py).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { execSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadBaseModel } from '../src/io/load';
import { randomWeights } from '../src/model/init';
import { parameterShapes, type LabGptConfig, type Weights } from '../src/model/config';
import { writeSafetensors } from '../src/io/safetensors';
import { parseDataset } from '../src/data/dataset';
import { DEFAULT_SWEEP } from '../src/train/config';
import { OPTIMIZERS } from '../src/optim/optimizer';
import { BenchGpu } from './gpu';
import { benchKernels, type KernelSizes } from './kernels';
import {
  benchDriver,
  benchStep,
  firstLosses,
  listDispatches,
  singleRun,
  sweepRuns,
  type StepSetup,
} from './step';
import { compareBatchedLines, compareLines, printReport, type BenchReport, type PeerReport } from './report';
import { attentionCheck, attentionPassesTiles, attentionTimes } from './attention-check';

/**
 * Tile candidates `attention-passes-tiles` tries by default: vec4 kernels v4:WX,WY,KC
 * (attention-passes-vec4.wgsl, 4 × 4 outputs a thread), then the scalar kernels' two picks WX,WY,TM,TN,KC.
 */
const ATTENTION_PASSES_TILE_CANDIDATES = [
  'v4:16,16,16',
  'v4:16,8,16',
  'v4:16,16,32',
  'v4:16,8,32',
  'v4:8,16,16',
  'v4:8,8,8',
  'v4:8,8,16',
  '16,16,4,4,8',
  '16,16,2,4,16',
].join(';');
import type { AttentionChoice, AttentionVariant } from '../src/kernels/attention-variant';
import type { MatmulSplitK } from '../src/model/gpu-model';
import { setMatmulMidTile, setMatmulUnroll } from '../src/kernels/matmul';
import {
  setSplitKMinTiles,
  setSplitKOwnSumMinTiles,
  setSplitSumFold,
  setSplitSumLoraDownRows,
} from '../src/kernels/matmul-splitk';
import { setTransposedWeights } from '../src/model/buffers';
import { setLayerNormEmbed, setLayerNormSumFold, setLayerNormSumTpr } from '../src/kernels/layernorm';
import { setLoraChain, setLoraFold, setLoraPair } from '../src/kernels/lora';
import { setGuardFold } from '../src/kernels/lora-skinny';
import {
  setAttentionPassesFusedForward,
  setAttentionProjFold,
  setAttentionPassesOrder,
  setAttentionPassesSkipMasked,
  setAttentionPassesSquareWarps,
  setAttentionPassesTiles,
} from '../src/kernels/attention-passes';

/** An attention-passes tile set: "v4:WX,WY,KC" (the vec4 kernels) or "WX,WY,TM,TN,KC" (the scalar ones). */
function parseAttentionTiles(x: string): Record<string, number> {
  if (x.startsWith('v4:')) {
    const [WX, WY, KC] = x.slice(3).split(',').map(Number);
    return { VEC4: 1, WX, WY, KC };
  }
  const [WX, WY, TM, TN, KC] = x.split(',').map(Number);
  return { WX, WY, TM, TN, KC };
}

/** The engine's attention variants (attention-variant.ts), for --attention and --variant. */
const ATTENTION_VARIANTS: readonly AttentionVariant[] = ['fused', 'passes', 'passes-recompute'];

const here = dirname(fileURLToPath(import.meta.url));
// Bundled: .bench-build/bench.mjs; from source: bench/run.ts. The project root is one up either way.
const root = resolve(here, '..');
const LAB_GPT: LabGptConfig = {
  n_layer: 4,
  n_embd: 256,
  n_head: 4,
  n_positions: 256,
  vocab_size: 256,
  layer_norm_epsilon: 1e-5,
};
const TOY: LabGptConfig = {
  n_layer: 2,
  n_embd: 64,
  n_head: 2,
  n_positions: 64,
  vocab_size: 256,
  layer_norm_epsilon: 1e-5,
};
/** `--model-size gpt2-small`: GPT-2 small's shape (12 × 768, 12 heads) with the byte vocabulary. */
const GPT2_SMALL: LabGptConfig = {
  n_layer: 12,
  n_embd: 768,
  n_head: 12,
  n_positions: 1024,
  vocab_size: 256,
  layer_norm_epsilon: 1e-5,
};
const RANDOM_MODEL = 'random-weights.safetensors';
const LOSS_LR = 5e-3;
const LOSS_STEPS = 8;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

/** A flag that takes one of `choices` (undefined when absent); any other value throws. */
function choiceFlag(args: string[], name: string, choices: string[]): string | undefined {
  const v = flag(args, name);
  if (v !== undefined && !choices.includes(v))
    throw new Error(`--${name} takes ${choices.join(' or ')}, not ${v}`);
  return v;
}

function firstExisting(paths: string[]): string | undefined {
  return paths.find((p) => existsSync(p));
}

function loadModel(
  path: string | undefined,
  toy: boolean,
): { cfg: LabGptConfig; weights: Weights; name: string; source: string } {
  const file =
    path ??
    (toy
      ? undefined
      : // What the build put beside the bundle first: the PyTorch peer reads the same file.
        firstExisting([
          join(root, '.bench-build/model/model.onnx'),
          join(root, '.bench-build/model', RANDOM_MODEL),
          join(root, 'public/models/lab-gpt/model.onnx'),
        ]));
  if (file) {
    const bytes = readFileSync(file);
    const config = readFileSync(join(dirname(file), 'config.json'), 'utf8');
    const m = loadBaseModel(
      'lab-gpt',
      config,
      new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      file.endsWith('.onnx') ? 'onnx' : 'safetensors',
    );
    const random = file.endsWith(RANDOM_MODEL);
    return {
      cfg: m.cfg,
      weights: m.weights,
      name: random ? 'lab-gpt shape, random weights' : m.name,
      source: relative(process.cwd(), file) || file,
    };
  }
  const cfg = toy ? TOY : LAB_GPT;
  return {
    cfg,
    weights: randomWeights(cfg, 1),
    name: toy ? 'toy (random weights)' : 'lab-gpt shape (random weights: model file not found)',
    source: 'randomWeights',
  };
}

/** Dawn's adapter info names the driver, not the board: ask nvidia-smi (for the FP32 peak). */
function nvidiaName(): string {
  try {
    return execSync('nvidia-smi --query-gpu=name --format=csv,noheader', { encoding: 'utf8', timeout: 10000 })
      .split('\n')[0]
      .trim();
  } catch {
    return '';
  }
}

function buildInfo(): { commit: string; built: string } {
  const p = join(here, 'build-info.json');
  if (existsSync(p)) return JSON.parse(readFileSync(p, 'utf8')) as { commit: string; built: string };
  return { commit: process.env.BENCH_COMMIT ?? 'unknown', built: '' };
}

/**
 * Until the trained lab-gpt exists, the build writes lab-gpt-shaped random weights (and its config)
 * as safetensors, so that the PyTorch peer loads exactly the weights we train on.
 */
function exportRandomModel(dir: string): void {
  const weights = randomWeights(LAB_GPT, 1);
  const shapes = parameterShapes(LAB_GPT);
  const tensors = new Map([...weights].map(([name, data]) => [name, { shape: shapes.get(name)!, data }]));
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, RANDOM_MODEL),
    writeSafetensors(tensors, { source: 'randomWeights(lab-gpt config, seed 1)' }),
  );
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'gpt2', ...LAB_GPT }, null, 1));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  // The vec4 attention passes' switches, for every mode below (each's default in attention-passes.ts):
  // --attention-order 0|1: workgroups in grid order or longest tiles first (ATTENTION_PASSES_ORDER);
  // --attention-forward fused|passes: the forward as one dispatch or its two passes (ATTENTION_PASSES_FUSED_FORWARD);
  // --attention-skip-masked 0|1: skip the chunks the causal mask zeroes (ATTENTION_PASSES_SKIP_MASKED);
  // --attention-square-warps 0|1: scores' warps over squares of its tile or whole rows (ATTENTION_PASSES_SQUARE_WARPS);
  // --attention-proj-fold on|off: attn.c_proj's product split by heads in the fused forward or its own dispatch
  // (ATTENTION_PROJ_FOLD).
  const attOrder = choiceFlag(args, 'attention-order', ['0', '1']);
  if (attOrder) setAttentionPassesOrder(attOrder === '1' ? 1 : 0);
  const attForward = choiceFlag(args, 'attention-forward', ['fused', 'passes']);
  if (attForward) setAttentionPassesFusedForward(attForward === 'fused');
  const attSkip = choiceFlag(args, 'attention-skip-masked', ['0', '1']);
  if (attSkip) setAttentionPassesSkipMasked(attSkip === '1' ? 1 : 0);
  const attSquare = choiceFlag(args, 'attention-square-warps', ['0', '1']);
  if (attSquare) setAttentionPassesSquareWarps(attSquare === '1' ? 1 : 0);
  const attProj = choiceFlag(args, 'attention-proj-fold', ['on', 'off']);
  if (attProj) setAttentionProjFold(attProj === 'on');
  if (args[0] === 'export-random-model') {
    exportRandomModel(args[1]);
    return;
  }
  if (args[0] === 'compare') {
    const ours = JSON.parse(readFileSync(args[1], 'utf8')) as BenchReport;
    const peers = args.slice(2).map((p) => JSON.parse(readFileSync(p, 'utf8')) as PeerReport);
    // A batched peer (torch_batched.py) first: its graphed figures are the reference for the ratios.
    const lines =
      peers[0]?.peerKind === 'batched'
        ? compareBatchedLines(ours, peers[0], peers[1])
        : compareLines(ours, peers[0]);
    for (const l of lines) console.log(l);
    return;
  }
  if (args[0] === 'attention-check') {
    // --variant fused | passes | passes-recompute | both (fused and passes, the default) | all (the three).
    const gpu = await BenchGpu.acquire();
    const [N, T, H, D] = (flag(args, 'shape') ?? '64,128,4,64').split(',').map(Number);
    const v = flag(args, 'variant') ?? 'both';
    const variants: AttentionVariant[] =
      v === 'both'
        ? ['fused', 'passes']
        : v === 'all'
          ? ['fused', 'passes', 'passes-recompute']
          : [attentionVariantFlag(v)];
    const r = await attentionCheck(gpu, { N, T, H, D }, variants, (s) => console.log(s));
    const out = flag(args, 'out');
    if (out) writeFileSync(out, JSON.stringify(r, null, 1));
    if (!r.every((x) => x.pass)) process.exitCode = 1;
    return;
  }
  if (args[0] === 'attention-passes-tiles') {
    // --shapes "N,T,H,D;..." --tiles "WX,WY,TM,TN,KC;v4:WX,WY,KC;...": the passes at each tile candidate, checked
    // then timed.
    const gpu = await BenchGpu.acquire();
    const shapes = (flag(args, 'shapes') ?? '64,128,4,64;8,128,4,64').split(';').map((x) => {
      const [N, T, H, D] = x.split(',').map(Number);
      return { N, T, H, D };
    });
    const tiles = (flag(args, 'tiles') ?? ATTENTION_PASSES_TILE_CANDIDATES)
      .split(';')
      .map(parseAttentionTiles);
    const r = await attentionPassesTiles(gpu, shapes, tiles, (s) => console.log(s));
    const out = flag(args, 'out');
    if (out) writeFileSync(out, JSON.stringify({ commit: buildInfo().commit, times: r }, null, 1));
    if (!r.every((x) => x.pass)) process.exitCode = 1;
    return;
  }
  if (args[0] === 'attention-variants') {
    // --shapes "N,T,H,D;N,T,H,D;...": one layer's attention, each variant (passes, fused, passes-recompute).
    const gpu = await BenchGpu.acquire();
    const shapes = (flag(args, 'shapes') ?? '8,128,4,64;64,128,4,64;64,256,4,64').split(';').map((x) => {
      const [N, T, H, D] = x.split(',').map(Number);
      return { N, T, H, D };
    });
    const r = await attentionTimes(gpu, shapes, (s) => console.log(s));
    const out = flag(args, 'out');
    if (out) writeFileSync(out, JSON.stringify({ commit: buildInfo().commit, times: r }, null, 1));
    return;
  }
  const out = flag(args, 'out') ?? join(root, 'bench/results-local.json');
  // --matmul-unroll N: copies of matmulWideVec4's k loop body per iteration for every product (default: per
  // product, matmulUnrollFor: the whole TILE_K from 2^32 flops, else 4).
  const unroll = flag(args, 'matmul-unroll');
  if (unroll) setMatmulUnroll(Number(unroll));
  // --matmul pipe took matmulWideVec4Pipe, removed (slower in every measurement; bench/RESULTS.md).
  if (flag(args, 'matmul') !== undefined)
    throw new Error(
      '--matmul is gone: its only other kernel, matmulWideVec4Pipe, was removed (bench/RESULTS.md)',
    );
  // --split-k-min-tiles N: split the frozen-weight products with fewer than N output tiles of 128×64.
  const minTiles = flag(args, 'split-k-min-tiles');
  if (minTiles !== undefined) setSplitKMinTiles(Number(minTiles));
  // --split-k-own-sum-min-tiles N|never: products whose split takes its own sum dispatch stay whole from N
  // output tiles of 128×64 on (SPLITK_OWN_SUM_MIN_TILES; never: always split).
  const ownSumTiles = flag(args, 'split-k-own-sum-min-tiles');
  if (ownSumTiles !== undefined)
    setSplitKOwnSumMinTiles(ownSumTiles === 'never' ? Infinity : Number(ownSumTiles));
  // --ln-fold off: split products before a LayerNorm keep their own sum dispatch (layerNormSumFold).
  const lnFold = flag(args, 'ln-fold') ?? 'on';
  if (lnFold !== 'on' && lnFold !== 'off') throw new Error(`--ln-fold takes on or off, not ${lnFold}`);
  setLayerNormSumFold(lnFold === 'on');
  // --lora-fold off: LoRA's up-projection and du·A keep their own products (loraFoldOn).
  const loraFoldFlag = flag(args, 'lora-fold') ?? 'on';
  if (loraFoldFlag !== 'on' && loraFoldFlag !== 'off')
    throw new Error(`--lora-fold takes on or off, not ${loraFoldFlag}`);
  setLoraFold(loraFoldFlag === 'on');
  // --lora-pair off: the skinny LoRA backward keeps dB and du apart (loraBackwardPair).
  const pairFlag = flag(args, 'lora-pair') ?? 'on';
  if (pairFlag !== 'on' && pairFlag !== 'off')
    throw new Error(`--lora-pair takes on or off, not ${pairFlag}`);
  setLoraPair(pairFlag === 'on');
  // --weights-t off: the backward's dx = dy·Wᵀ reads W transposed (NT) instead of uploaded copies of Wᵀ (NN).
  const weightsTFlag = flag(args, 'weights-t') ?? 'on';
  if (weightsTFlag !== 'on' && weightsTFlag !== 'off')
    throw new Error(`--weights-t takes on or off, not ${weightsTFlag}`);
  setTransposedWeights(weightsTFlag === 'on');
  // --attention-tiles v4:WX,WY,KC (or WX,WY,TM,TN,KC): the attention passes on these tiles wherever they fit.
  const attTiles = flag(args, 'attention-tiles');
  setAttentionPassesTiles(attTiles ? parseAttentionTiles(attTiles) : null);
  // --sum-fold off: the attention backward's dO and the loss's logits keep their split-K sum (splitSumFoldOn).
  const sumFoldFlag = flag(args, 'sum-fold') ?? 'on';
  if (sumFoldFlag !== 'on' && sumFoldFlag !== 'off')
    throw new Error(`--sum-fold takes on or off, not ${sumFoldFlag}`);
  setSplitSumFold(sumFoldFlag === 'on');
  // --ln-embed off: the embedding and the first LayerNorm as two dispatches (layerNormEmbedOn).
  const lnEmbed = choiceFlag(args, 'ln-embed', ['on', 'off']);
  if (lnEmbed) setLayerNormEmbed(lnEmbed === 'on');
  // --lora-chain off: each adapted module's dA keeps its own loraReduce dispatch (no loraBackwardTriple).
  const chainFlag = choiceFlag(args, 'lora-chain', ['on', 'off']);
  if (chainFlag) setLoraChain(chainFlag === 'on');
  // --guard-fold off: the loss guard stays lossGuard after the loss (no loraReduceGuard at the backward's end).
  const guardFoldFlag = choiceFlag(args, 'guard-fold', ['on', 'off']);
  if (guardFoldFlag) setGuardFold(guardFoldFlag === 'on');
  // --sum-lora-down on|off|N: an adapted split product of at most N rows (on: any, off: none) forms u in its sum,
  // else keeps loraRows before it (splitSumLoraDownOn).
  const sumDown = flag(args, 'sum-lora-down');
  if (sumDown !== undefined) {
    const rows = sumDown === 'on' ? Infinity : sumDown === 'off' ? 0 : Number(sumDown);
    if (!(rows >= 0)) throw new Error(`--sum-lora-down takes on, off or a row count, not ${sumDown}`);
    setSplitSumLoraDownRows(rows);
  }
  // --ln-sum-tpr N: threads per row of the Sum LayerNorms for every shape (default: layerNormSumConstants).
  const lnTpr = flag(args, 'ln-sum-tpr');
  if (lnTpr !== undefined) setLayerNormSumTpr(Number(lnTpr));
  // --matmul-mid-tile k16|k32|128x64|128x96: the vec4 tile for 257–511 output tiles of 128×128 (default k16).
  const midTile = flag(args, 'matmul-mid-tile') ?? 'k16';
  if (midTile !== 'k16' && midTile !== 'k32' && midTile !== '128x64' && midTile !== '128x96')
    throw new Error(`--matmul-mid-tile takes k16, k32, 128x64 or 128x96, not ${midTile}`);
  setMatmulMidTile(midTile);
  const log = (s: string) => console.log(s);
  const gpu = await BenchGpu.acquire();
  // --error-scopes submit|window: the Gpu's error scopes around each submission or each sync window.
  const scopes = flag(args, 'error-scopes');
  if (scopes !== undefined) {
    if (scopes !== 'submit' && scopes !== 'window')
      throw new Error(`--error-scopes takes submit or window, not ${scopes}`);
    gpu.errorScopes = scopes;
  }
  // --waits poll|patient: wait for the GPU at once, or sleep through most of the queued steps first (the
  // default under Node: src/gpu/queue-clock.ts), to time both.
  const waits = flag(args, 'waits');
  if (waits !== undefined) {
    if (waits !== 'poll' && waits !== 'patient')
      throw new Error(`--waits takes poll or patient, not ${waits}`);
    gpu.patientWaits = waits === 'patient';
  }
  // --clock-margin X: the share of the expected time a patient wait sleeps through (QueueClock.margin), to time
  // others than the default.
  const margin = flag(args, 'clock-margin');
  if (margin !== undefined) {
    const m = Number(margin);
    if (!(m > 0 && m <= 1)) throw new Error(`--clock-margin takes a number in (0, 1], not ${margin}`);
    gpu.clock.margin = m;
  }
  const toy = gpu.info.isSoftware || args.includes('--toy');
  const adapter = `${gpu.info.vendor} ${gpu.info.architecture} ${gpu.info.description}`.trim();
  log(
    `adapter: ${adapter}; timestamps: ${gpu.hasTimestamps ? `yes (quantization ${gpu.quantizationOff ? 'off' : 'default'})` : 'no (wall clock)'}`,
  );
  if (toy) {
    log(
      '*** SwiftShader (a CPU emulation of a GPU): TOY sizes — these figures test the harness, they are not performance figures. ***',
    );
  }
  const gpt2Small = flag(args, 'model-size') === 'gpt2-small';
  // --vocab 50257: the hub's GPT-2 vocabulary (the LM head and cross-entropy in chunks); the batches stay byte
  // ids, which are ids of any vocabulary: the time of a step does not depend on them.
  const gpt2Cfg: LabGptConfig = {
    ...GPT2_SMALL,
    vocab_size: Number(flag(args, 'vocab') ?? GPT2_SMALL.vocab_size),
  };
  const model = gpt2Small
    ? {
        cfg: gpt2Cfg,
        weights: randomWeights(gpt2Cfg, 1),
        name: `gpt2-small shape, vocabulary ${gpt2Cfg.vocab_size}, random weights`,
        source: 'randomWeights',
      }
    : loadModel(flag(args, 'model'), toy);
  // Timing only (no per-optimizer table, no kernels, no first losses): the GPT-2-small rows.
  const sweepOnly = args.includes('--sweep-only');
  const dataPath =
    flag(args, 'data') ??
    firstExisting([
      join(root, '.bench-build/data/devils-dictionary.txt'),
      join(root, 'public/datasets/devils-dictionary.txt'),
    ]);
  if (!dataPath) throw new Error('no dataset: pass --data <file.txt>');
  const dataset = parseDataset(dataPath.split('/').pop()!, new Uint8Array(readFileSync(dataPath)));
  const batch = Number(flag(args, 'batch') ?? (toy ? 2 : DEFAULT_SWEEP.batch));
  const seq = Number(flag(args, 'seq') ?? (toy ? 32 : gpt2Small ? 256 : DEFAULT_SWEEP.seq));
  const { cfg } = model;
  log(
    `model: ${model.name} (${model.source}) n_layer ${cfg.n_layer} n_embd ${cfg.n_embd} n_head ${cfg.n_head}; LoRA c_attn r ${DEFAULT_SWEEP.lora.r} alpha ${DEFAULT_SWEEP.lora.alpha}; batch ${batch} × seq ${seq}`,
  );
  const gpuName = gpu.info.vendor === 'nvidia' ? nvidiaName() : '';
  const isHopper = /H100|H200|GH100/i.test(`${adapter} ${gpuName}`);

  const sizes: KernelSizes = toy
    ? {
        matmul: [64, 128],
        cholesky: { count: 100, n: 256, rs: [4, 16, 64] },
        model: {
          Ns: [batch, 4 * batch],
          T: seq,
          H: cfg.n_head,
          D: cfg.n_embd / cfg.n_head,
          V: cfg.vocab_size,
        },
        lora: {
          inDim: cfg.n_embd,
          outDim: 3 * cfg.n_embd,
          r: DEFAULT_SWEEP.lora.r,
          rowsPerRun: batch * seq,
          Rs: [1, 2],
        },
        timing: { targetMs: 20, maxReps: 10, trials: 2 },
      }
    : {
        matmul: [256, 1024, 4096],
        cholesky: { count: 1000, n: 256, rs: [4, 16, 64] },
        model: {
          Ns: [batch, 8 * batch],
          T: seq,
          H: cfg.n_head,
          D: cfg.n_embd / cfg.n_head,
          V: cfg.vocab_size,
        },
        // c_attn's skinny LoRA products (lora-skinny.ts) at the step's shapes.
        lora: {
          inDim: cfg.n_embd,
          outDim: 3 * cfg.n_embd,
          r: DEFAULT_SWEEP.lora.r,
          rowsPerRun: batch * seq,
          Rs: [1, 8, 64],
        },
        timing: { targetMs: 25, maxReps: 400, trials: 5 },
      };
  const setup: StepSetup = {
    cfg,
    weights: model.weights,
    dataset,
    batch,
    seq,
    // --sweep-only (GPT-2 small): few steps, each is long.
    steps: toy ? 2 : sweepOnly ? 5 : 30,
    trials: toy ? 2 : sweepOnly ? 3 : 5,
    warmup: toy ? 1 : sweepOnly ? 2 : 10,
    timing: toy ? { targetMs: 5, maxReps: 2, trials: 1 } : { targetMs: 20, maxReps: 200, trials: 5 },
    // --attention auto | fused | passes | passes-recompute: the engine's attention (attention-variant.ts).
    attention: attentionChoiceFlag(flag(args, 'attention') ?? 'auto'),
    // --split-k off | auto | N: split-K of the frozen-weight products (gpu-model.ts MatmulSplitK).
    matmulSplitK: splitKFlag(flag(args, 'split-k')),
    // --fused-tail on | off: lossGuard and optimizerFused (the default), or the split dispatches they replace.
    fusedTail: (() => {
      const v = flag(args, 'fused-tail') ?? 'on';
      if (v !== 'on' && v !== 'off') throw new Error(`--fused-tail takes on or off, not ${v}`);
      return v === 'on';
    })(),
    trialStamps: args.includes('--trial-stamps'),
    submitDiag: args.includes('--submit-diag'),
  };
  // --steps / --trials / --warmup override the above (e.g. lab-gpt's 30 / 5 / 10 with --sweep-only).
  for (const k of ['steps', 'trials', 'warmup'] as const) {
    const v = flag(args, k);
    if (v !== undefined) setup[k] = Number(v);
  }
  if (args.includes('--attention-kernels-only')) {
    // Only the model-shape kernels (attention and the row-wise ones): no matmul or Cholesky sweeps.
    sizes.matmul = [];
    sizes.cholesky.rs = [];
  }
  if (args.includes('--lora-kernels-only')) {
    // Only the skinny LoRA products beside the matmul path they replace.
    sizes.matmul = [];
    sizes.cholesky.rs = [];
    sizes.model.Ns = [];
  }
  const Rs = (flag(args, 'rs') ?? (toy ? '1,2,4' : '1,2,4,8,16')).split(',').map(Number);

  const report: BenchReport = {
    meta: {
      date: new Date().toISOString(),
      commit: buildInfo().commit,
      mode: toy ? 'swiftshader-toy' : 'gpu',
      adapter: gpuName ? `${gpuName} (${adapter})` : adapter,
      features: gpu.info.features,
      timer: gpu.hasTimestamps ? 'timestamp' : 'wall',
      quantizationOff: gpu.quantizationOff,
      model: {
        name: model.name,
        source: model.source,
        n_layer: cfg.n_layer,
        n_embd: cfg.n_embd,
        n_head: cfg.n_head,
        n_positions: cfg.n_positions,
      },
      lora: { ...DEFAULT_SWEEP.lora },
      batch,
      seq,
      attention: setup.attention,
      ...(unroll ? { matmulUnroll: Number(unroll) } : {}),
      matmulSplitK: setup.matmulSplitK,
      fusedTail: setup.fusedTail,
      peakFp32: isHopper ? 67e12 : null,
      practicalFp32: isHopper ? 51.5e12 : null,
    },
    kernels: [],
    perOptimizer: [],
    sweep: [],
    losses: { steps: LOSS_STEPS, lr: LOSS_LR, byRun: {} },
    errors: [],
  };

  // A failing section is reported and skipped, so one broken kernel does not cost the whole GPU run;
  // the JSON is rewritten after each section for the same reason.
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      const msg = `${what}: ${e instanceof Error ? e.message : String(e)}`;
      report.errors.push(msg);
      log(`  FAILED ${msg}`);
    }
    writeFileSync(out, JSON.stringify(report, null, 1));
  };
  if (args.includes('--list-dispatches')) {
    // The step's dispatch sequence per R (captured, not run): what the dispatch count is made of.
    for (const R of Rs) {
      const lines = listDispatches(gpu, setup, R === 1 ? singleRun('riemannian-adamw') : sweepRuns(R));
      log(`\nR = ${R}: ${lines.length} dispatches`);
      lines.forEach((l, i) => log(`${String(i).padStart(4)}  ${l}`));
    }
    return;
  }
  if (!args.includes('--skip-kernels') && !sweepOnly) {
    log('\nKernels (time of one dispatch; GFLOP/s and compulsory GB/s):');
    await attempt('kernels', async () => {
      await benchKernels(gpu, sizes, log, report.kernels);
    });
  }
  if (!args.includes('--skip-steps')) {
    log('\nTraining steps:');
    for (const kind of sweepOnly ? [] : OPTIMIZERS) {
      await attempt(`step ${kind}`, async () => {
        report.perOptimizer.push(
          await benchStep(gpu, setup, kind, singleRun(kind), { breakdown: kind === 'riemannian-adamw' }, log),
        );
      });
    }
    for (const R of Rs) {
      await attempt(`sweep R=${R}`, async () => {
        report.sweep.push(
          await benchStep(
            gpu,
            setup,
            `sweep R=${R}`,
            sweepRuns(R),
            { breakdown: R === 8 && !sweepOnly },
            log,
          ),
        );
        if (args.includes('--driver')) {
          const result = report.sweep.at(-1)!;
          const steps = Number(flag(args, 'driver-steps') ?? 200);
          // --driver-val-every / --driver-norms-every: the loop's validation and norms cadence (the CLI's
          // defaults: 50 and 10), to see what each costs.
          const valEvery = Number(flag(args, 'driver-val-every') ?? DEFAULT_SWEEP.valEvery);
          const normsEvery = Number(flag(args, 'driver-norms-every') ?? 10);
          // --driver-in-flight N: a fixed queue depth (the driver's default sizes it to 40 ms of steps).
          const inFlight = flag(args, 'driver-in-flight');
          const maxInFlight = inFlight === undefined ? undefined : Number(inFlight);
          result.driverTokensPerSec = await benchDriver(gpu, setup, sweepRuns(R), steps, {
            valEvery,
            normsEvery,
            maxInFlight,
          });
          log(
            `    the CLI's loop (SweepDriver, ${steps} steps, validation every ${valEvery}, norms every ${normsEvery}, in flight ${maxInFlight ?? 'by time'}): ${Math.round(result.driverTokensPerSec)} tok/s = ${(result.driverTokensPerSec / result.tokensPerSec).toFixed(3)}× the bench loop's`,
          );
        }
      });
    }
  }
  const lossRuns = [
    { id: `adamw@${LOSS_LR}`, optimizer: 'adamw' as const, lr: LOSS_LR },
    { id: `riemannian-adamw@${LOSS_LR}`, optimizer: 'riemannian-adamw' as const, lr: LOSS_LR },
  ];
  if (!sweepOnly)
    await attempt('losses', async () => {
      report.losses.byRun = await firstLosses(gpu, setup, lossRuns, LOSS_STEPS);
      log(`\nFirst ${LOSS_STEPS} losses, sequential batches, lr ${LOSS_LR}:`);
      for (const [id, l] of Object.entries(report.losses.byRun))
        log(`  ${id}: ${l.map((x) => x.toFixed(5)).join(' ')}`);
    });

  printReport(report, log);
  writeFileSync(out, JSON.stringify(report, null, 1));
  log(`\nwrote ${out}${toy ? ' (SwiftShader toy sizes)' : ''}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);

function splitKFlag(v: string | undefined): MatmulSplitK {
  if (v === undefined || v === 'auto' || v === 'off') return v ?? 'auto';
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--split-k takes auto, off or a number of chunks, not ${v}`);
  return n;
}

function attentionVariantFlag(v: string): AttentionVariant {
  if (!(ATTENTION_VARIANTS as readonly string[]).includes(v))
    throw new Error(`--variant takes ${ATTENTION_VARIANTS.join(', ')}, both or all, not ${v}`);
  return v as AttentionVariant;
}

function attentionChoiceFlag(v: string): AttentionChoice {
  if (v !== 'auto' && !(ATTENTION_VARIANTS as readonly string[]).includes(v))
    throw new Error(`--attention takes auto, ${ATTENTION_VARIANTS.join(', ')}, not ${v}`);
  return v as AttentionChoice;
}

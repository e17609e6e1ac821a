// The skinny LoRA products, batched over runs (issue 16): the products whose output has r ≤ 64 rows or
// columns, which the general matmul runs on 64-wide tiles mostly wasted (see the shaders' headers).
//   loraRows:   out [R, rows, r] = alpha · x W_tᵀ   (u = x Aᵀ; du = s · dy B)
//   loraReduce: G_t [r, C] or [C, r] = alpha · p_tᵀ x_t, summed over all rows   (dA = duᵀ x; dB = s · dyᵀ u)
import reduceSource from '../../shaders/lora-reduce.wgsl?raw';
import rowsSource from '../../shaders/lora-rows.wgsl?raw';
import lossGuardSource from '../../shaders/loss-guard.wgsl?raw';
import reducePhase from '../../shaders/reduce-phase.wgsl?raw';
import { defineKernel, foldedGrid } from '../gpu/kernel';
import { lossGuard } from './sweep';

/** The largest r the skinny kernels take (their per-thread accumulators: 16 vec4). */
export const LORA_SKINNY_MAX_R = 64;

/** Rows of one run per workgroup of `loraRows` (ROWS in lora-rows.wgsl). */
const ROWS_PER_GROUP = 8;
/** Threads per workgroup of `loraReduce` (WG in lora-reduce.wgsl): COLS columns × WG / COLS row lanes. */
const REDUCE_THREADS = 256;
/** vec4 of the staged tile of p in `loraReduce` (TILE): row lanes × R4 must not pass it. */
const REDUCE_TILE = 512;
/** Workgroups `loraReduceConstants` aims for: enough to spread one run over a GPU's SMs. */
export const LORA_REDUCE_TARGET_GROUPS = 128;
/** Rows each row lane of `loraReduce` takes at least, when its columns are narrowed for parallelism. */
const MIN_ROWS_PER_LANE = 4;
/**
 * Rows per row lane above which `loraReduce` narrows its columns (to 8: 32-byte rows of x, still whole
 * sectors) even with enough workgroups: a lane's rows are a chain of dependent sums, and the kernel's
 * time followed that chain (128 rows a lane at 32 columns) more than the number of workgroups.
 */
const MAX_ROWS_PER_LANE = 32;

export const loraRows = defineKernel({
  label: 'loraRows',
  source: rowsSource,
  bindings: { x: 'read', w: 'read', out: 'write' },
  params: { R: 'u32', rows: 'u32', K: 'u32', r: 'u32', offW: 'u32', strideW: 'u32', alpha: 'f32' },
  constants: { TRANS_W: 0, R4: 1, KSTEP: 1 },
  // x (and y past 65535) over row blocks, z over the runs.
  workgroups: ({ R, rows }) => {
    const [x, y] = foldedGrid(Math.ceil(rows / ROWS_PER_GROUP));
    return [x, y, R];
  },
});

export const loraReduce = defineKernel({
  label: 'loraReduce',
  source: reduceSource,
  bindings: { p: 'read', x: 'read', out: 'write' },
  params: { R: 'u32', rows: 'u32', C: 'u32', r: 'u32', offOut: 'u32', strideOut: 'u32', alpha: 'f32' },
  constants: { TRANS_OUT: 0, COLS: 32, R4: 1 },
  // x (and y past 65535) over column blocks × j blocks, z over the runs.
  workgroups: ({ R, C, r }, { COLS, R4 }) => {
    checkReduceSplit(COLS, R4);
    const [x, y] = foldedGrid(loraReduceGroupsPerRun(C, r, COLS, R4));
    return [x, y, R];
  },
});

/**
 * One of the two skinny sources as a function of the pair module (loraBackwardPair): its Params and bindings
 * replaced by the pair's (`pairParams.<prefix>field`, `bindings`: its array name → the pair's), the names it
 * shares with the other source renamed, and its entry point a plain function `role` of the same builtins.
 * Throws if the source no longer has the shape this rewrite expects (so a change to it fails its tests).
 */
function asRole(
  source: string,
  role: string,
  prefix: string,
  bindings: Record<string, string>,
  renames: Record<string, string>,
  signature: string,
  drop: readonly RegExp[] = [],
  bindingLines = 4,
): string {
  const lines = source
    .split('\n')
    .filter((l) => !/^struct Params \{.*\}$/.test(l) && !/^@group\(0\) @binding/.test(l));
  let out = lines.join('\n');
  if (lines.length !== source.split('\n').length - 1 - bindingLines)
    throw new Error(`${role}: expected one Params line and ${bindingLines} bindings`);
  out = out.replace(/\bparams\.(\w+)/g, `pairParams.${prefix}$1`);
  for (const [from, to] of Object.entries(bindings))
    out = out.replace(new RegExp(`\\b${from}\\[`, 'g'), `${to}[`);
  for (const [from, to] of Object.entries(renames)) out = out.replace(new RegExp(`\\b${from}\\b`, 'g'), to);
  for (const d of drop) {
    const kept = out.split('\n').filter((l) => !d.test(l));
    if (kept.length !== out.split('\n').length - 1) throw new Error(`${role}: expected one line ${d}`);
    out = kept.join('\n');
  }
  const entry = /@compute @workgroup_size\([^)]*\)\s*fn main\(([\s\S]*?)\)\s*\{/;
  const m = entry.exec(out);
  const params = m?.[1]
    .replace(/@builtin\(\w+\)\s*/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  if (!m || params !== signature) throw new Error(`${role}: unexpected entry point (${params})`);
  return out.replace(entry, `fn ${role}(${params}) {`);
}

const PAIR_REDUCE = {
  R: 'u32',
  rows: 'u32',
  C: 'u32',
  r: 'u32',
  offOut: 'u32',
  strideOut: 'u32',
  alpha: 'f32',
} as const;
const PAIR_ROWS = {
  R: 'u32',
  rows: 'u32',
  K: 'u32',
  r: 'u32',
  offW: 'u32',
  strideW: 'u32',
  alpha: 'f32',
} as const;
type Prefixed<T, P extends string> = { [K in keyof T as `${P}${K & string}`]: T[K] };
const prefixed = <T extends object, P extends string>(o: T, p: P) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [`${p}${k}`, v])) as Prefixed<T, P>;

const pairSource = (withA = false): string => {
  const fields = [
    ...Object.entries(prefixed(PAIR_REDUCE, 'r_')),
    ...Object.entries(prefixed(PAIR_ROWS, 'w_')),
    ...(withA ? Object.entries(prefixed(PAIR_REDUCE, 'a_')) : []),
  ];
  // The third role (loraBackwardTriple): the previous module's dA = duᵀ x, loraReduce's code again under its own
  // constants (RA_), sharing the first role's staging tile ps (a workgroup runs one role).
  const third = withA
    ? [
        '@group(0) @binding(5) var<storage, read> pairDuA: array<f32>;',
        '@group(0) @binding(6) var<storage, read> pairXA: array<f32>;',
        '@group(0) @binding(7) var<storage, read_write> pairDA: array<f32>;',
        '@group(0) @binding(8) var<uniform> pairParams: PairParams;',
        'override ROW_GROUPS: u32 = 1u;',
        asRole(
          reduceSource,
          'reduceARole',
          'a_',
          { p: 'pairDuA', x: 'pairXA', out: 'pairDA' },
          {
            TRANS_OUT: 'RA_TRANS_OUT',
            COLS: 'RA_COLS',
            R4: 'RA_R4',
            LANES: 'RA_LANES',
            TN: 'RA_TN',
            MAX_R4: 'RD_MAX_R4',
            pAt: 'raPAt',
          },
          'wid: vec3u, nwg: vec3u, lid: u32,',
          [/^const WG: u32/, /^const RD_MAX_R4: u32/, /^const TILE: u32/, /^var<workgroup> ps:/],
        ),
      ]
    : ['@group(0) @binding(5) var<uniform> pairParams: PairParams;'];
  return [
    '// loraReduce (dB = s · dyᵀ u) and loraRows (du = s · dy B) of one LoRA backward in one dispatch: the first',
    '// REDUCE_GROUPS workgroups of each run run the first, the rest the second (src/kernels/lora-skinny.ts builds',
    '// this module from lora-reduce.wgsl and lora-rows.wgsl; both read dy, neither reads what the other writes).',
    `struct PairParams { ${fields.map(([k, v]) => `${k}: ${v}`).join(', ')} }`,
    '@group(0) @binding(0) var<storage, read> pairU: array<f32>;',
    '@group(0) @binding(1) var<storage, read> pairDy: array<f32>;',
    '@group(0) @binding(2) var<storage, read_write> pairDB: array<f32>;',
    '@group(0) @binding(3) var<storage, read> pairB: array<f32>;',
    '@group(0) @binding(4) var<storage, read_write> pairDU: array<f32>;',
    ...third,
    'override REDUCE_GROUPS: u32 = 1u;',
    asRole(
      reduceSource,
      'reduceRole',
      'r_',
      { p: 'pairU', x: 'pairDy', out: 'pairDB' },
      { R4: 'RD_R4', LANES: 'RD_LANES', MAX_R4: 'RD_MAX_R4', TN: 'RD_TN' },
      'wid: vec3u, nwg: vec3u, lid: u32,',
    ),
    asRole(
      rowsSource,
      'rowsRole',
      'w_',
      { x: 'pairDy', w: 'pairB', out: 'pairDU' },
      { R4: 'RW_R4', LANES: 'RW_LANES', MAX_R4: 'RW_MAX_R4' },
      'wid: vec3u, nwg: vec3u, local: vec3u, lid: u32,',
    ),
    '@compute @workgroup_size(256)',
    'fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,',
    '        @builtin(local_invocation_index) lid: u32) {',
    '  if (wid.x < REDUCE_GROUPS) {',
    '    reduceRole(vec3u(wid.x, 0u, wid.z), vec3u(REDUCE_GROUPS, 1u, nwg.z), lid);',
    ...(withA
      ? [
          '  } else if (wid.x >= REDUCE_GROUPS + ROW_GROUPS) {',
          '    let g = wid.x - REDUCE_GROUPS - ROW_GROUPS;',
          '    reduceARole(vec3u(g, 0u, wid.z), vec3u(nwg.x - REDUCE_GROUPS - ROW_GROUPS, 1u, nwg.z), lid);',
        ]
      : []),
    '  } else {',
    '    let local = vec3u(lid % 32u, lid / 32u, 0u);',
    `    rowsRole(vec3u(wid.x - REDUCE_GROUPS, 0u, wid.z), vec3u(${withA ? 'ROW_GROUPS' : 'nwg.x - REDUCE_GROUPS'}, 1u, nwg.z), local, lid);`,
    '  }',
    '}',
    '',
  ].join('\n');
};

/**
 * dB = s · dyᵀ u (loraReduce, TRANS_OUT 1) and du = s · dy B (loraRows, TRANS_W 1) in one dispatch, the same
 * float32 as the two (the same code, constants and grids side by side): one dispatch fewer per adapted module's
 * backward, and the two memory-bound reads of dy run together (issue 16). Params: loraReduce's prefixed r_,
 * loraRows' prefixed w_; constants via loraBackwardPairConstants.
 */
export const loraBackwardPair = defineKernel({
  label: 'loraBackwardPair',
  source: pairSource(),
  bindings: { u: 'read', dy: 'read', gradB: 'write', loraB: 'read', du: 'write' },
  params: { ...prefixed(PAIR_REDUCE, 'r_'), ...prefixed(PAIR_ROWS, 'w_') },
  constants: { TRANS_OUT: 1, COLS: 32, RD_R4: 1, TRANS_W: 1, RW_R4: 1, KSTEP: 1, REDUCE_GROUPS: 1 },
  workgroups: ({ r_R, r_C, r_r, w_rows }, { COLS, RD_R4, REDUCE_GROUPS }) => {
    checkReduceSplit(COLS, RD_R4);
    if (REDUCE_GROUPS !== loraReduceGroupsPerRun(r_C, r_r, COLS, RD_R4))
      throw new Error('loraBackwardPair: REDUCE_GROUPS is not the reduce part’s workgroups per run');
    return [REDUCE_GROUPS + Math.ceil(w_rows / ROWS_PER_GROUP), 1, r_R];
  },
});

/**
 * loraBackwardPair with a third role: the previous module's dA = duᵀ x (loraReduce, TRANS_OUT 0, its own
 * constants RA_*), whose workgroups follow the pair's ROW_GROUPS row groups. The same float32 as that module's
 * own loraReduce dispatch (the same code, constants and grid): the dA of every adapted module but the last in
 * backward order rides in the next one's pair (issue 16: one dispatch fewer each). Its du must be another
 * buffer than the pair's du (the model alternates two).
 */
export const loraBackwardTriple = defineKernel({
  label: 'loraBackwardTriple',
  source: pairSource(true),
  bindings: {
    u: 'read',
    dy: 'read',
    gradB: 'write',
    loraB: 'read',
    du: 'write',
    duA: 'read',
    xA: 'read',
    gradA: 'write',
  },
  params: { ...prefixed(PAIR_REDUCE, 'r_'), ...prefixed(PAIR_ROWS, 'w_'), ...prefixed(PAIR_REDUCE, 'a_') },
  constants: {
    TRANS_OUT: 1,
    COLS: 32,
    RD_R4: 1,
    TRANS_W: 1,
    RW_R4: 1,
    KSTEP: 1,
    REDUCE_GROUPS: 1,
    ROW_GROUPS: 1,
    RA_TRANS_OUT: 0,
    RA_COLS: 32,
    RA_R4: 1,
  },
  workgroups: (
    { r_R, r_C, r_r, w_rows, a_R, a_C, a_r },
    { COLS, RD_R4, REDUCE_GROUPS, ROW_GROUPS, RA_COLS, RA_R4 },
  ) => {
    checkReduceSplit(COLS, RD_R4);
    checkReduceSplit(RA_COLS, RA_R4);
    if (REDUCE_GROUPS !== loraReduceGroupsPerRun(r_C, r_r, COLS, RD_R4))
      throw new Error('loraBackwardTriple: REDUCE_GROUPS is not the reduce part’s workgroups per run');
    if (ROW_GROUPS !== Math.ceil(w_rows / ROWS_PER_GROUP))
      throw new Error('loraBackwardTriple: ROW_GROUPS is not the rows part’s workgroups per run');
    if (a_R !== r_R) throw new Error('loraBackwardTriple: the dA part has other runs');
    return [REDUCE_GROUPS + ROW_GROUPS + loraReduceGroupsPerRun(a_C, a_r, RA_COLS, RA_R4), 1, r_R];
  },
});

/** lossGuard's params (the guard role's, prefixed g_). */
const GUARD_PARAMS = lossGuard.params;

/** lossGuard's params (src/kernels/sweep.ts): the per-step ones are step, historyRow and invCount. */
export interface LossGuardParams {
  R: number;
  n: number;
  step: number;
  historyRow: number;
  invCount: number;
  boundFactor: number;
}

const reduceGuardSource = (): string =>
  [
    '// loraReduce (the backward’s last dA = duᵀ x) and lossGuard (the per-run loss sums and the divergence guard)',
    '// in one dispatch: the first REDUCE_GROUPS workgroups of each run (z) run the first, the one after them the',
    '// second for that run (src/kernels/lora-skinny.ts builds this module from lora-reduce.wgsl, reduce-phase.wgsl',
    '// and loss-guard.wgsl; neither reads what the other writes).',
    `struct PairParams { ${[...Object.entries(prefixed(PAIR_REDUCE, 'a_')), ...Object.entries(prefixed(GUARD_PARAMS, 'g_'))].map(([k, v]) => `${k}: ${v}`).join(', ')} }`,
    '@group(0) @binding(0) var<storage, read> pairDuA: array<f32>;',
    '@group(0) @binding(1) var<storage, read> pairXA: array<f32>;',
    '@group(0) @binding(2) var<storage, read_write> pairDA: array<f32>;',
    '@group(0) @binding(3) var<storage, read> guardRowLoss: array<f32>;',
    '@group(0) @binding(4) var<storage, read_write> guardSums: array<f32>;',
    '@group(0) @binding(5) var<storage, read_write> guardFlags: array<u32>;',
    '@group(0) @binding(6) var<storage, read_write> guardState: array<f32>;',
    '@group(0) @binding(7) var<storage, read_write> guardHyper: array<Hyper>;',
    '@group(0) @binding(8) var<storage, read_write> guardHistory: array<f32>;',
    '@group(0) @binding(9) var<uniform> pairParams: PairParams;',
    'override REDUCE_GROUPS: u32 = 1u;',
    asRole(
      reduceSource,
      'reduceARole',
      'a_',
      { p: 'pairDuA', x: 'pairXA', out: 'pairDA' },
      {},
      'wid: vec3u, nwg: vec3u, lid: u32,',
    ),
    asRole(
      `${reducePhase}\n${lossGuardSource}`,
      'guardRole',
      'g_',
      {
        x: 'guardRowLoss',
        lossSums: 'guardSums',
        lossFlags: 'guardFlags',
        state: 'guardState',
        hyper: 'guardHyper',
        history: 'guardHistory',
      },
      { WG: 'GUARD_WG' },
      'wid: vec3u, lid: u32',
      [],
      7,
    ),
    '@compute @workgroup_size(256)',
    'fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,',
    '        @builtin(local_invocation_index) lid: u32) {',
    '  if (wid.x < REDUCE_GROUPS) {',
    '    reduceARole(vec3u(wid.x, 0u, wid.z), vec3u(REDUCE_GROUPS, 1u, nwg.z), lid);',
    '  } else {',
    '    guardRole(vec3u(wid.z, 0u, 0u), lid);',
    '  }',
    '}',
    '',
  ].join('\n');

/**
 * The backward's last dA = duᵀ x (loraReduce, TRANS_OUT 0, its constants) and lossGuard (the loss sums and the
 * guard) in one dispatch, the same float32 as the two: the guard reads only the loss, which the forward left,
 * and nothing in the backward reads what it writes, so it can ride with the last dispatch of the backward
 * (issue 16: one dispatch fewer a step). Needs 9 storage buffers (`loraReduceGuardFits`).
 */
export const loraReduceGuard = defineKernel({
  label: 'loraReduceGuard',
  source: reduceGuardSource(),
  bindings: {
    duA: 'read',
    xA: 'read',
    gradA: 'write',
    rowLoss: 'read',
    lossSums: 'write',
    lossFlags: 'write',
    state: 'write',
    hyper: 'write',
    history: 'write',
  },
  params: { ...prefixed(PAIR_REDUCE, 'a_'), ...prefixed(GUARD_PARAMS, 'g_') },
  constants: { TRANS_OUT: 0, COLS: 32, R4: 1, REDUCE_GROUPS: 1 },
  workgroups: ({ a_R, a_C, a_r, g_R }, { COLS, R4, REDUCE_GROUPS }) => {
    checkReduceSplit(COLS, R4);
    if (REDUCE_GROUPS !== loraReduceGroupsPerRun(a_C, a_r, COLS, R4))
      throw new Error('loraReduceGuard: REDUCE_GROUPS is not the reduce part’s workgroups per run');
    if (a_R !== g_R) throw new Error('loraReduceGuard: the guard has other runs than the dA');
    return [REDUCE_GROUPS + 1, 1, a_R];
  },
});

/**
 * Whether the sweep's loss guard rides with the backward's last dA (loraReduceGuard) where it can: on unless the
 * bench's `--guard-fold off` turned it off for the whole process (then lossGuard runs after the loss).
 */
let guardFold = true;
export function setGuardFold(on: boolean): void {
  guardFold = on;
}
export const guardFoldOn = (): boolean => guardFold;

/** Whether the device binds loraReduceGuard's storage buffers (WebGPU guarantees 8). */
export const loraReduceGuardFits = (limits: GPUSupportedLimits): boolean =>
  limits.maxStorageBuffersPerShaderStage >= Object.keys(loraReduceGuard.bindings).length;

/** loraReduceGuard's params: the dA's prefixed a_, the guard's g_. */
export function loraReduceGuardParams(reduceA: LoraReduceParams, guard: LossGuardParams) {
  return { ...prefixed(reduceA, 'a_'), ...prefixed(guard, 'g_') };
}

/**
 * loraReduceGuard's override constants: loraReduceConstants(reduceA, 0) and REDUCE_GROUPS; null where the runs
 * differ or a run's grid passes 65535 workgroups.
 */
export function loraReduceGuardConstants(
  reduceA: LoraReduceParams,
  guard: Pick<LossGuardParams, 'R'>,
): Record<string, number> | null {
  if (reduceA.R !== guard.R) return null;
  const c = loraReduceConstants(reduceA, 0);
  const groups = loraReduceGroupsPerRun(reduceA.C, reduceA.r, c.COLS, c.R4);
  if (groups + 1 > 65535) return null;
  return { ...c, REDUCE_GROUPS: groups };
}

/** The triple's params: the pair's, and the previous module's dA reduce prefixed a_. */
export function loraBackwardTripleParams(
  reduce: LoraReduceParams,
  rows: LoraRowsParams,
  reduceA: LoraReduceParams,
) {
  return { ...prefixed(reduce, 'r_'), ...prefixed(rows, 'w_'), ...prefixed(reduceA, 'a_') };
}

/**
 * The triple's override constants: the pair's (loraBackwardPairConstants: the workgroup memory is the pair's, the
 * third role sharing its tile), ROW_GROUPS, and loraReduceConstants(reduceA, 0) as RA_*; null where the pair
 * declines, the runs differ, or the grid passes 65535 workgroups a run.
 */
export function loraBackwardTripleConstants(
  reduce: LoraReduceParams,
  rows: LoraRowsParams,
  reduceA: LoraReduceParams,
  workgroupStorage: number,
): Record<string, number> | null {
  const both = loraBackwardPairConstants(reduce, rows, workgroupStorage);
  if (!both || reduceA.R !== reduce.R) return null;
  const ac = loraReduceConstants(reduceA, 0);
  const rowGroups = Math.ceil(rows.rows / ROWS_PER_GROUP);
  const aGroups = loraReduceGroupsPerRun(reduceA.C, reduceA.r, ac.COLS, ac.R4);
  if (both.REDUCE_GROUPS + rowGroups + aGroups > 65535) return null;
  return { ...both, ROW_GROUPS: rowGroups, RA_TRANS_OUT: 0, RA_COLS: ac.COLS, RA_R4: ac.R4 };
}

/** The pair's params: loraReduce's (dB) prefixed r_, loraRows' (du) prefixed w_. */
export function loraBackwardPairParams(reduce: LoraReduceParams, rows: LoraRowsParams) {
  return { ...prefixed(reduce, 'r_'), ...prefixed(rows, 'w_') };
}

/**
 * The pair's override constants from the two parts' (loraReduceConstants(·, 1), loraRowsConstants(r, 1)), or
 * null where one dispatch cannot hold both: a grid past 65535 workgroups a run, or more workgroup memory than
 * `workgroupStorage` bytes even at one k per lane and tile.
 */
export function loraBackwardPairConstants(
  reduce: LoraReduceParams,
  rows: LoraRowsParams,
  workgroupStorage: number,
): Record<string, number> | null {
  const rc = loraReduceConstants(reduce, 1);
  const wc = loraRowsConstants(rows.r, 1);
  const groups = loraReduceGroupsPerRun(reduce.C, reduce.r, rc.COLS, rc.R4);
  const rowGroups = Math.ceil(rows.rows / ROWS_PER_GROUP);
  // Workgroup memory in vec4: reduce's ps (TILE), rows' red (256) and ws (32 · KSTEP · R4), KSTEP lowered to
  // fit. A lane's k still run lane, lane + 32, ... in order whatever KSTEP: the same sums as loraRows'.
  const room = Math.floor(workgroupStorage / 16) - REDUCE_TILE - 32 * ROWS_PER_GROUP;
  const KSTEP = Math.min(wc.KSTEP, Math.floor(room / (32 * wc.R4)));
  if (groups + rowGroups > 65535 || KSTEP < 1) return null;
  return {
    TRANS_OUT: 1,
    COLS: rc.COLS,
    RD_R4: rc.R4,
    TRANS_W: 1,
    RW_R4: wc.R4,
    KSTEP,
    REDUCE_GROUPS: groups,
  };
}

function checkR(r: number): number {
  if (!Number.isInteger(r) || r < 1 || r > LORA_SKINNY_MAX_R) {
    throw new Error(`skinny LoRA kernels take 1 ≤ r ≤ ${LORA_SKINNY_MAX_R}, not ${r}`);
  }
  return Math.ceil(r / 4);
}

/**
 * Override constants of `loraRows` for rank r: R4 accumulators, and as many k per lane per staged tile
 * as keep the tile of W at 16 vec4 per lane (8 KiB), at most 8.
 */
export function loraRowsConstants(r: number, transW: 0 | 1): Record<string, number> {
  const R4 = checkR(r);
  return { TRANS_W: transW, R4, KSTEP: Math.max(1, Math.min(8, Math.floor(16 / R4))) };
}

/** The shape of one `loraReduce` dispatch that its split depends on. */
export interface LoraReduceShape {
  R: number;
  rows: number;
  C: number;
  r: number;
}

/** Workgroups of `loraReduce` per run: column blocks of COLS × blocks of 4·R4 outputs j. */
export function loraReduceGroupsPerRun(C: number, r: number, COLS: number, R4: number): number {
  return Math.ceil(C / COLS) * Math.ceil(Math.ceil(r / 4) / R4);
}

function checkReduceSplit(COLS: number, R4: number): void {
  const lanes = REDUCE_THREADS / COLS;
  const powerOfTwo = Number.isInteger(COLS) && COLS >= 1 && (COLS & (COLS - 1)) === 0;
  if (!powerOfTwo || COLS > 32 || !Number.isInteger(R4) || R4 < 1 || R4 > 16 || lanes * R4 > REDUCE_TILE) {
    throw new Error(`loraReduce: no split COLS=${COLS} R4=${R4} (COLS a power of two ≤ 32, lanes·R4 ≤ 512)`);
  }
}

/**
 * Override constants of `loraReduce` for a shape. From 32 columns and all ceil(r/4) vec4 of outputs per
 * workgroup (8 row lanes): first halve the columns (doubling the row lanes) down to 8 while a lane has
 * more than MAX_ROWS_PER_LANE rows; then, until there are LORA_REDUCE_TARGET_GROUPS workgroups, halve
 * them down to 4, else split the outputs j into blocks of halved R4, else halve the columns down to 1.
 * Row lanes × R4 stay within the staged tile and each lane keeps MIN_ROWS_PER_LANE rows. Pure: the same
 * shape gets the same constants, hence the same summation order.
 */
export function loraReduceConstants(s: LoraReduceShape, transOut: 0 | 1): Record<string, number> {
  const fullR4 = checkR(s.r);
  let COLS = 32;
  let R4 = fullR4;
  const groups = () => s.R * loraReduceGroupsPerRun(s.C, s.r, COLS, R4);
  const canHalveCols = (minCols: number) => {
    const lanes = (2 * REDUCE_THREADS) / COLS;
    return COLS > minCols && lanes * R4 <= REDUCE_TILE && lanes * MIN_ROWS_PER_LANE <= s.rows;
  };
  while (s.rows > MAX_ROWS_PER_LANE * (REDUCE_THREADS / COLS) && canHalveCols(8)) COLS /= 2;
  while (groups() < LORA_REDUCE_TARGET_GROUPS) {
    if (canHalveCols(4)) COLS /= 2;
    else if (R4 > 1) R4 = Math.ceil(R4 / 2);
    else if (canHalveCols(1)) COLS /= 2;
    else break;
  }
  return { TRANS_OUT: transOut, COLS, R4 };
}

export interface LoraRowsParams {
  R: number;
  rows: number;
  K: number;
  r: number;
  offW: number;
  strideW: number;
  alpha: number;
}

export interface LoraReduceParams {
  R: number;
  rows: number;
  C: number;
  r: number;
  offOut: number;
  strideOut: number;
  alpha: number;
}

/** Float64 reference of `loraRows`, used only by tests: out [R, rows, r]. */
export function loraRowsReference(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  p: LoraRowsParams,
  transW: 0 | 1,
): Float64Array {
  const { R, rows, K, r } = p;
  const out = new Float64Array(R * rows * r);
  const alpha = Math.fround(p.alpha);
  for (let t = 0; t < R; t++) {
    const base = p.offW + t * p.strideW;
    for (let n = 0; n < rows; n++) {
      for (let j = 0; j < r; j++) {
        let acc = 0;
        for (let k = 0; k < K; k++) {
          acc += x[(t * rows + n) * K + k] * w[transW ? base + k * r + j : base + j * K + k];
        }
        out[(t * rows + n) * r + j] = alpha * acc;
      }
    }
  }
  return out;
}

/**
 * Float64 reference of `loraReduce`, used only by tests: a copy of `out` with each run's gradient
 * written at offOut + t·strideOut ([r, C] or, transOut, [C, r]); the rest kept.
 */
export function loraReduceReference(
  pIn: ArrayLike<number>,
  x: ArrayLike<number>,
  out: ArrayLike<number>,
  p: LoraReduceParams,
  transOut: 0 | 1,
): Float64Array {
  const { R, rows, C, r } = p;
  const res = Float64Array.from(out);
  const alpha = Math.fround(p.alpha);
  for (let t = 0; t < R; t++) {
    const base = p.offOut + t * p.strideOut;
    for (let j = 0; j < r; j++) {
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let n = 0; n < rows; n++) acc += pIn[(t * rows + n) * r + j] * x[(t * rows + n) * C + c];
        res[transOut ? base + c * r + j : base + j * C + c] = alpha * acc;
      }
    }
  }
  return res;
}

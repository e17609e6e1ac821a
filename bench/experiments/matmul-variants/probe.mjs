// Issue 16: is matmulWideVec4 held back by how its inner loop is written rather than by its tiles? Standalone
// (plain Node and the `webgpu` package, nothing to build): on the device machine, after `source .gpu/setup.sh`,
//
//   node bench/experiments/matmul-variants/probe.mjs [--before FILE] [--out DIR] [--check-only]
//        [--tiles 128x128k32,...] [--variants "now U,now UD"] [--epilogues] [--shapes-only "label,..."]
//                                                                     (NOROBUST=1: Dawn's disable_robustness)
//
// Variants are derived from a matmul-wide-vec4.wgsl by checked text rewrites (each throws if the shader no
// longer has the line it rewrites), so what is measured is that kernel with one thing changed. With --before
// FILE (the shader as it was before this experiment: the 16 accumulators in an array, the k loop of the
// multiply one k per iteration), the first measurement's variants of FILE:
//   before       FILE as it is
//   before U     the k loop unrolled TILE_K times (constant indices into the staged tiles)
//   before W     each warp of 32 invocations computes a 4 × 8 block of threads instead of 2 × 16
//   before N     the 16 accumulators as named variables instead of an array
//   before UW, UWN  their combinations
// and always the shader as it is now (named accumulators; the k loop one k per iteration):
//   now          shaders/matmul-wide-vec4.wgsl as it is
//   now U        its k loop unrolled TILE_K times: what the engine compiles for large products (unrollMatmulK in
//                src/kernels/matmul.ts; small ones get four copies per iteration, matmulUnrollFor)
//   now UW       now U with warps of 4 × 8 threads
//   now UP       now U with the next k's workgroup-memory reads written before this k's multiply-adds
//   now UT       now U with the staged tiles as arrays of k-rows (see twoD)
//   diag ...     diagnostics, timed and never checked (see noLdg below)
//   now UD       now U without prefetch registers: each K tile goes from global memory straight into the
//                staged tile (32 registers a thread fewer, for a second workgroup per SM)
//   pipe         shaders/matmul-wide-vec4-pipe.wgsl as it is (two staged copies, swizzled, 4 × 8 warps; only
//                where the checkout has it: removed from the engine 2026-12-02)
//   pipe NU      the same with named accumulators and the k loop unrolled
//   now UG4      now U with the GELU epilogue on vec4s (geluPair4: the same operations lane by lane)
//   diag lean, diag noBB: the store cut down (see leanStore, noBetaBias)
// The first measurement's FILE is `git show 614df45:shaders/matmul-wide-vec4.wgsl` (put it in an ignored folder
// that travels to the device, e.g. .work/).
// Each variant is checked against float64 at shapes that are not multiples of the tiles (transposes, batch,
// epilogues) before it is timed; a failing variant is not timed.
// Writes probe[-norobust].json and .txt to --out (default $OUT, else the current folder).
import { create, globals } from 'webgpu';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeGpu, seeded } from '../probe-gpu.mjs';

Object.assign(globalThis, globals);
const here = dirname(fileURLToPath(import.meta.url));
const shaders = join(here, '../../../shaders');
const args = process.argv.slice(2);
const outDir = args.includes('--out') ? args[args.indexOf('--out') + 1] : (process.env.OUT ?? '.');
const noRobust = !!process.env.NOROBUST;
const lines = [];
const log = (...a) => {
  const s = a.join(' ');
  console.log(s);
  lines.push(s);
};

// Keep the instance referenced for the whole process (Dawn aborts if it is collected under a live device).
const instance = create(noRobust ? ['enable-dawn-features=allow_unsafe_apis,disable_robustness'] : []);
globalThis.keepInstance = instance;
const adapter = await instance.requestAdapter({ powerPreference: 'high-performance' });
log('adapter', adapter.info.vendor, adapter.info.description);
log('robustness', noRobust ? 'OFF (disable_robustness)' : 'on');
const hasTimestamps = adapter.features.has('timestamp-query');
const device = await adapter.requestDevice({
  requiredFeatures: hasTimestamps ? ['timestamp-query'] : [],
  requiredLimits: {
    maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxBufferSize: adapter.limits.maxBufferSize,
  },
});
let errors = 0;
device.addEventListener('uncapturederror', (e) => {
  if (errors++ < 5) log('GPU error:', e.error.message.slice(0, 600));
});

const gelu = readFileSync(join(shaders, 'gelu-math.wgsl'), 'utf8');
const nowSource = readFileSync(join(shaders, 'matmul-wide-vec4.wgsl'), 'utf8');
// The pipelined kernel left the engine (2026-12-02; slower in every measurement): its variants are offered only
// where a checkout still has its shader (git history, before that removal).
const pipePath = join(shaders, 'matmul-wide-vec4-pipe.wgsl');
const pipeSource = existsSync(pipePath) ? readFileSync(pipePath, 'utf8') : null;
const beforeSource = args.includes('--before')
  ? readFileSync(args[args.indexOf('--before') + 1], 'utf8')
  : null;

function rewrite(src, pattern, replacement, label) {
  const found = src.match(pattern)?.length ?? 0;
  if (found !== 1) throw new Error(`${label}: ${found} matches of ${pattern}, expected 1`);
  return src.replace(pattern, replacement);
}

/** U: the multiply's k loop unrolled `tileK` times; the source then only runs with TILE_K = tileK. */
function unroll(src, tileK) {
  const head = '      for (var kk = 0u; kk < TILE_K; kk++) {\n';
  const i = src.indexOf(head);
  if (i < 0 || src.indexOf(head, i + 1) >= 0) throw new Error('unroll: the k loop is not there once');
  const close = src.indexOf('\n      }\n', i);
  const body = src.slice(i + head.length, close + 1);
  let copies = '';
  for (let k = 0; k < tileK; k++) copies += `      {\n${body.replaceAll('kk', `${k}u`)}      }\n`;
  return src.slice(0, i) + copies + src.slice(close + '\n      }\n'.length);
}

/**
 * UP: unrolled as U, with the workgroup-memory reads of k + 1 written before the multiply-adds of k (the
 * fragments double-buffered in registers, in the order the text gives the driver's compiler).
 */
function unrollPipelined(src, tileK) {
  const head = '      for (var kk = 0u; kk < TILE_K; kk++) {\n';
  const i = src.indexOf(head);
  if (i < 0 || src.indexOf(head, i + 1) >= 0)
    throw new Error('unrollPipelined: the k loop is not there once');
  const close = src.indexOf('\n      }\n', i);
  const body = src
    .slice(i + head.length, close + 1)
    .split('\n')
    .filter((l) => l.trim() !== '');
  const reads = body.filter((l) => /^\s*let [ab][01] = /.test(l));
  const fmas = body.filter((l) => /^\s*acc\d+ = fma\(/.test(l));
  if (reads.length !== 4 || fmas.length !== 16 || reads.length + fmas.length !== body.length)
    throw new Error('unrollPipelined: the loop body is not 4 reads and 16 multiply-adds');
  const name = (l, k) => l.replace(/\b([ab][01])\b/g, `$1_${k}`).replaceAll('kk', `${k}u`);
  let out = '';
  for (const l of reads) out += `${name(l, 0)}\n`;
  for (let k = 0; k < tileK; k++) {
    if (k + 1 < tileK) for (const l of reads) out += `${name(l, k + 1)}\n`;
    for (const l of fmas) out += `${name(l, k)}\n`;
  }
  return src.slice(0, i) + out + src.slice(close + '\n      }\n'.length);
}

/**
 * T: the staged tiles as arrays of k-rows (array<array<vec4f, 2·WG + 1>, TILE_K>) instead of one flat array.
 * Unrolled, every read of the multiply then indexes a constant k-row and a column that depends only on the
 * thread (ty, WG_M + ty, tx, WG_N + tx), so an index clamp the robustness pass adds is the same expression for
 * all TILE_K reads and can be computed once, where a flat index kk·SA + ty is clamped anew for every kk. The
 * inner array's length must be a constant: the text gets WG_M and WG_N as numbers.
 */
function twoD(src, c) {
  let out = rewrite(
    src,
    /var<workgroup> as_: array<vec4f, TILE_K \* \(2u \* WG_M \+ 1u\)>;/g,
    `var<workgroup> as_: array<array<vec4f, ${2 * c.WG_M + 1}>, TILE_K>;`,
    'twoD as_',
  );
  out = rewrite(
    out,
    /var<workgroup> bs: array<vec4f, TILE_K \* \(2u \* WG_N \+ 1u\)>;/g,
    `var<workgroup> bs: array<array<vec4f, ${2 * c.WG_N + 1}>, TILE_K>;`,
    'twoD bs',
  );
  const flat = /(as_|bs)\[(\(?[^\[\]]*?\)?) \* S[AB] \+ ([^\[\]]*?)\]/g;
  const n = out.match(flat)?.length ?? 0;
  if (n !== 14) throw new Error(`twoD: ${n} flat tile indices, expected 14`);
  out = out.replace(flat, '$1[$2][$3]');
  if (/\* S[AB] \+/.test(out)) throw new Error('twoD: a flat tile index is left');
  return out;
}

/** W: warps of 4 × 8 threads (needs WG_N a multiple of 8 and WG_M·WG_N a multiple of 32). */
function warp48(src) {
  return rewrite(
    src,
    /let tx = local\.x;\n {2}let ty = local\.y;/g,
    `let w = lid / 32u;
  let l = lid % 32u;
  let tx = (w % (WG_N / 8u)) * 8u + l % 8u;
  let ty = (w / (WG_N / 8u)) * 4u + l / 8u;`,
    'warp48',
  );
}

/** N: named accumulators. */
function named(src) {
  let out = rewrite(
    src,
    /var acc = array<vec4f, 16>\(\);/g,
    Array.from({ length: 16 }, (_, i) => `var acc${i} = vec4f();`).join('\n    '),
    'named',
  );
  out = out.replace(/acc\[(\d+)\]/g, 'acc$1');
  if (out.includes('acc[')) throw new Error('named: an accumulator is still indexed');
  return out;
}

/**
 * D: no prefetch registers. Each K tile is loaded from global memory straight into the staged tile at the
 * top of its iteration, so 32 registers a thread are free (two workgroups an SM, where the register file
 * allows) and the other workgroup's multiply hides the loads, instead of the registers doing so.
 */
function direct(src) {
  const first = /if \(in([AB])(\d)\) \{ p[ab]\2 = fetch\1\(base\1, [mn]0, 0u, \w+\); \}\n\s*/g;
  const stash = /if \(in([AB])(\d)\) \{ stash\1\((\w+), p[ab]\d\); \}/g;
  for (const [re, what] of [
    [first, 'first prefetches'],
    [stash, 'stashes from registers'],
  ]) {
    const n = src.match(re)?.length ?? 0;
    if (n !== 8) throw new Error(`direct: ${n} ${what}, expected 8`);
  }
  const out = src
    .replace(first, '')
    .replace(
      stash,
      (_, op, i, e) =>
        `if (in${op}${i}) { stash${op}(${e}, fetch${op}(base${op}, ${op === 'A' ? 'm0' : 'n0'}, k0, ${e})); }`,
    );
  return rewrite(
    out,
    /let k1 = k0 \+ TILE_K;\n\s*if \(k1 < K\) \{[\s\S]*?\n {6}\}\n/g,
    '',
    'direct: the prefetch',
  );
}

/**
 * Diagnostics (wrong results on purpose: timed, never checked, printed as `diag`): each removes one part of
 * `now U`'s staging so the time it costs shows.
 *   noLDG  the tiles are made from their indices instead of loaded from global memory
 *   noSTS  the tiles are staged once (the first K tile); later loads are kept alive by one multiply-add each
 *   noBAR  no workgroup barriers
 *   hot    every workgroup reads the first row and column panels (all loads hit the caches)
 */
function noLdg(src) {
  let out = src;
  for (const op of ['a', 'b']) {
    const re = new RegExp(`return ${op}\\[\\(base \\+ [^;]*;`, 'g');
    const n = out.match(re)?.length ?? 0;
    if (n !== 2) throw new Error(`noLDG: ${n} loads of ${op}, expected 2`);
    // The binding stays referenced (a never-taken branch), or the pipeline's layout would drop it.
    out = out.replace(
      re,
      `if (params.M == 0xffffffffu) { return ${op}[0]; }\n    return vec4f(f32(base + k), f32(e), 1.0, 2.0);`,
    );
  }
  return out;
}
function noSts(src) {
  const block = /( {6}if \(inA0\) \{ stashA\(lid, pa0\); \}[\s\S]*?if \(inB3\) \{ stashB\(e3, pb3\); \}\n)/g;
  if ((src.match(block)?.length ?? 0) !== 1) throw new Error('noSTS: the stash block is not there once');
  return src.replace(
    block,
    `      if (k0 == 0u) {\n$1      }\n      acc0 = fma(pa0 + pa1 + pa2 + pa3 + pb0 + pb1 + pb2 + pb3, vec4f(1e-30), acc0);\n`,
  );
}
function noBar(src) {
  const n = src.match(/workgroupBarrier\(\);/g)?.length ?? 0;
  if (n !== 2) throw new Error(`noBAR: ${n} barriers, expected 2`);
  return src.replaceAll('workgroupBarrier();', '');
}
/**
 * Diagnostics of the store's weight on the whole kernel (the compiler allocates registers for the kernel's
 * worst point, so a store that needs more can slow the multiply; a version of the store that read everything
 * first was slower everywhere, 4096³ 43.5 → 38.7 TFLOP/s, bench/runs/h200-2026-12-01-s9 call 1):
 *   lean   C = acc and nothing else (no alpha, beta, bias, epilogue)
 *   noBB   the store without its beta and bias branches (alpha and the epilogue stay)
 */
function leanStore(src) {
  return rewrite(
    src,
    /fn store4\(baseC: u32, m: u32, n: u32, acc: vec4f\) \{[\s\S]*?\n\}\n/g,
    `fn store4(baseC: u32, m: u32, n: u32, acc: vec4f) {
  if (m >= params.M || n >= params.N) {
    return;
  }
  c[(baseC + m * ldC() + n) / 4u] = acc;
  // Never taken: keeps bias, aux, loraU and loraB in the pipeline's layout (the probe binds them).
  if (params.M == 0xffffffffu) {
    c[0] = aux[0] + vec4f(bias[0]) + loraU[0] + loraB[0];
  }
}
`,
    'lean store',
  );
}
function noBetaBias(src) {
  let out = rewrite(src, /if \(params\.beta != 0\.0\) \{/g, 'if (false) {', 'noBB beta');
  return rewrite(out, /if \(params\.hasBias != 0u\) \{\n {4}v \+=/g, 'if (false) {\n    v +=', 'noBB bias');
}
/**
 * G4: the GELU epilogue on vec4s (the same float32 operations lane by lane as geluPair on each component),
 * a different text for the driver's compiler, whose register and scheduling choices for the whole kernel moved
 * with every change of the store measured so far (diag lean and noBB slower than the full store).
 */
function gelu4(src) {
  const fns = `
fn geluPair4(x: vec4f) -> array<vec4f, 2> {
  let u = GELU_K * fma(GELU_A * x * x, x, x);
  let e = exp(-2.0 * clamp(u, vec4f(-GELU_TAIL), vec4f(GELU_TAIL)));
  let s = 1.0 / (1.0 + e);
  let t = e * s;
  let tail = abs(u) >= vec4f(GELU_TAIL);
  let pos = x > vec4f(0.0);
  let y = select(x * s, select(vec4f(0.0), x, pos), tail);
  let inside = s + x * s * t * 2.0 * GELU_K * fma(vec4f(3.0 * GELU_A), x * x, vec4f(1.0));
  let slope = select(inside, select(vec4f(0.0), vec4f(1.0), pos), tail);
  return array<vec4f, 2>(y, slope);
}
`;
  let out = rewrite(
    src,
    /let g0 = geluPair\(v\.x\);\n\s*let g1 = geluPair\(v\.y\);\n\s*let g2 = geluPair\(v\.z\);\n\s*let g3 = geluPair\(v\.w\);\n\s*aux\[idx\] = vec4f\(g0\.x, g1\.x, g2\.x, g3\.x\);\n\s*return vec4f\(g0\.y, g1\.y, g2\.y, g3\.y\);/g,
    'let g = geluPair4(v);\n    aux[idx] = g[0];\n    return g[1];',
    'gelu4',
  );
  return rewrite(out, /\nfn epilogue\(/g, `${fns}\nfn epilogue(`, 'gelu4 fns');
}
function hot(src) {
  let out = rewrite(src, /let m0 = wid\.y \* 8u \* WG_M;/g, 'let m0 = 0u * wid.y;', 'hot m0');
  return rewrite(out, /let n0 = wid\.x \* 8u \* WG_N;/g, 'let n0 = 0u * wid.x;', 'hot n0');
}

const { compile, checkMatmul, timeMatmul } = probeGpu(device, log);
const grid = (c, p) => [
  Math.ceil(p.N / (8 * c.WG_N)),
  Math.ceil(p.M / (8 * c.WG_M)),
  Math.min(p.batch, 65535),
];
const rnd = seeded(1);

/** Worst error over C (and aux for gelu) against float64, each divided by 1.5·Σ|a·b| + |beta| + 1. */
const check = async (module, c, shape) =>
  (await checkMatmul(module, c, shape, (p) => grid(c, p), rnd)).vsRounded;
/** Best of 4 passes of back-to-back dispatches, µs per dispatch (timestamp queries). */
const time = (module, c, shape) => timeMatmul(module, c, shape, (p) => grid(c, p));

const TILES = {
  '128x128k16': { WG_M: 16, WG_N: 16, TILE_K: 16 },
  '128x128k32': { WG_M: 16, WG_N: 16, TILE_K: 32 },
  '128x64k16': { WG_M: 16, WG_N: 8, TILE_K: 16 },
  '128x128k8': { WG_M: 16, WG_N: 16, TILE_K: 8 },
};
const TRANSFORMS = {
  ...(beforeSource
    ? {
        before: () => beforeSource,
        'before U': (c) => unroll(beforeSource, c.TILE_K),
        'before W': () => warp48(beforeSource),
        'before N': () => named(beforeSource),
        'before UW': (c) => unroll(warp48(beforeSource), c.TILE_K),
        'before UWN': (c) => unroll(warp48(named(beforeSource)), c.TILE_K),
      }
    : {}),
  now: () => nowSource,
  'now U': (c) => unroll(nowSource, c.TILE_K),
  'now UW': (c) => unroll(warp48(nowSource), c.TILE_K),
  'now UD': (c) => unroll(direct(nowSource), c.TILE_K),
  'now UP': (c) => unrollPipelined(nowSource, c.TILE_K),
  'now UT': (c) => unroll(twoD(nowSource, c), c.TILE_K),
  'diag noLDG': (c) => unroll(noLdg(nowSource), c.TILE_K),
  'diag noSTS': (c) => unroll(noSts(nowSource), c.TILE_K),
  'diag noBAR': (c) => unroll(noBar(nowSource), c.TILE_K),
  'diag hot': (c) => unroll(hot(nowSource), c.TILE_K),
  'diag lean': (c) => unroll(leanStore(nowSource), c.TILE_K),
  'diag noBB': (c) => unroll(noBetaBias(nowSource), c.TILE_K),
  'now UG4': (c) => unroll(gelu4(nowSource), c.TILE_K),
  // matmul-wide-vec4-pipe.wgsl (two staged copies, one barrier per K tile, swizzled, 4 × 8 warps): as it is,
  // and with its accumulators named and its k loop unrolled like the engine's kernel.
  ...(pipeSource ? { pipe: () => pipeSource, 'pipe NU': (c) => unroll(named(pipeSource), c.TILE_K) } : {}),
};
/** Workgroup bytes of a variant: the pipe's two unpadded copies, or the padded single copy. */
const bytesOf = (name, c) =>
  name.startsWith('pipe')
    ? 16 * 2 * c.TILE_K * 2 * (c.WG_M + c.WG_N)
    : 16 * c.TILE_K * (2 * c.WG_M + 1 + 2 * c.WG_N + 1);
const CHECK_SHAPES = [
  { M: 100, N: 68, K: 40, TA: 0, TB: 0 },
  { M: 260, N: 132, K: 100, TA: 0, TB: 1, epi: 1, bias: 1 },
  { M: 132, N: 200, K: 72, TA: 1, TB: 0, epi: 2, beta: 0.5 },
  { M: 36, N: 44, K: 52, TA: 1, TB: 1, batch: 3, epi: 3, bias: 1 },
];
const TOL = 1e-5;
const wgStorage = adapter.limits.maxComputeWorkgroupStorageSize;
const results = { robustness: !noRobust, adapter: adapter.info.description, checks: [], times: [] };
const modules = [];
// --tiles a,b and --variants "x,y": only those (default: all).
const only = (flag) => (args.includes(flag) ? args[args.indexOf(flag) + 1].split(',') : null);
const onlyTiles = only('--tiles');
const onlyVariants = only('--variants');
for (const [tile, c] of Object.entries(TILES)) {
  if (onlyTiles && !onlyTiles.includes(tile)) continue;
  for (const [name, f] of Object.entries(TRANSFORMS)) {
    if (onlyVariants && !onlyVariants.includes(name)) continue;
    const bytes = bytesOf(name, c);
    if (bytes > wgStorage) {
      log(`${name} ${tile}: ${bytes} B of workgroup memory, the device offers ${wgStorage}: skipped`);
      continue;
    }
    const module = await compile(`${gelu}\n${f(c)}`, `${name} ${tile}`);
    if (!module) continue;
    if (name.startsWith('diag')) {
      log(`${name} ${tile}: a diagnostic (wrong results on purpose), timed without a check`);
      modules.push({ name, tile, c, module });
      continue;
    }
    let worst = 0;
    for (const s of CHECK_SHAPES) worst = Math.max(worst, await check(module, c, s));
    const ok = worst < TOL;
    results.checks.push({ variant: name, tile, worst, pass: ok });
    log(
      `check ${name} ${tile}: worst ${worst.toExponential(2)} of Σ|a·b| (tolerance ${TOL}) → ${ok ? 'PASS' : 'FAIL'}`,
    );
    if (ok) modules.push({ name, tile, c, module });
  }
}
if (!hasTimestamps || args.includes('--check-only')) {
  log('checks only');
} else {
  const TIME_SHAPES = [
    ['NN 8192×1024×256', { M: 8192, N: 1024, K: 256 }],
    ['NT 8192×1024×256', { M: 8192, N: 1024, K: 256, TB: 1 }],
    ['NN 8192×256×1024', { M: 8192, N: 256, K: 1024 }],
    ['NN 8192×768×256', { M: 8192, N: 768, K: 256 }],
    ['NN 16384×3072×768', { M: 16384, N: 3072, K: 768 }],
    ['NN 16384×768×3072', { M: 16384, N: 768, K: 3072 }],
    ['NN 4096×4096×4096', { M: 4096, N: 4096, K: 4096 }],
  ];
  // --epilogues: GPT-2 small's MLP products at R = 8 with the engine's epilogues (bias and GELU: c_fc; the
  // residual: c_proj; GELU's derivative: dFc), beside the same products without.
  if (args.includes('--epilogues'))
    TIME_SHAPES.push(
      ['NN 8192×1024×256 bias+gelu', { M: 8192, N: 1024, K: 256, bias: 1, epi: 1 }],
      ['NT 8192×1024×256 geluGrad', { M: 8192, N: 1024, K: 256, TB: 1, epi: 3 }],
      ['NN 16384×3072×768', { M: 16384, N: 3072, K: 768 }],
      ['NN 16384×3072×768 bias', { M: 16384, N: 3072, K: 768, bias: 1 }],
      ['NN 16384×3072×768 bias+gelu', { M: 16384, N: 3072, K: 768, bias: 1, epi: 1 }],
      ['NT 16384×3072×768', { M: 16384, N: 3072, K: 768, TB: 1 }],
      ['NT 16384×3072×768 geluGrad', { M: 16384, N: 3072, K: 768, TB: 1, epi: 3 }],
      ['NN 16384×768×3072 bias+residual', { M: 16384, N: 768, K: 3072, bias: 1, epi: 2 }],
    );
  // --occupancy: one K = 2048 product at 132, 264, 396 and 528 output tiles of 128×128 (the H200 has 132 SMs):
  // how the time grows with the tiles shows how many workgroups an SM runs at once.
  if (args.includes('--occupancy'))
    for (const t of [132, 264, 396, 528])
      TIME_SHAPES.push([
        `NN ${(t / 12) * 128}×1536×2048 (${t} tiles)`,
        { M: (t / 12) * 128, N: 1536, K: 2048 },
      ]);
  // --shapes-only "label,label": time only those rows.
  const onlyShapes = only('--shapes-only');
  if (onlyShapes)
    TIME_SHAPES.splice(0, TIME_SHAPES.length, ...TIME_SHAPES.filter(([l]) => onlyShapes.includes(l)));
  // The GPU's clocks rise only after a while of work: half a second of matmuls first, not recorded.
  const warm = modules[0];
  for (let i = 0; i < 6; i++) await time(warm.module, warm.c, { M: 4096, N: 4096, K: 4096 });
  for (const [label, s] of TIME_SHAPES) {
    const flop = 2 * s.M * s.N * s.K * (s.batch ?? 1);
    const row = { label, shape: s, us: {} };
    for (const { name, tile, c, module } of modules) {
      const us = await time(module, c, s);
      row.us[`${name} ${tile}`] = us;
      log(`  ${label}  ${tile} ${name}: ${us.toFixed(1)} µs, ${(flop / us / 1e6).toFixed(1)} TFLOP/s`);
    }
    results.times.push(row);
  }
}
await device.queue.onSubmittedWorkDone();
const name = `probe${noRobust ? '-norobust' : ''}`;
writeFileSync(join(outDir, `${name}.json`), JSON.stringify(results, null, 1));
writeFileSync(join(outDir, `${name}.txt`), `${lines.join('\n')}\n`);
process.exit(errors > 0 ? 1 : 0);

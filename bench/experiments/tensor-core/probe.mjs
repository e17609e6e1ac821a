// Issue 16's stretch experiment: does Dawn's chromium-experimental-subgroup-matrix (f16 × f16 → f32, 16×16×16)
// beat the engine's float32 matmul (shaders/matmul-wide-vec4.wgsl) on this GPU? Standalone (plain Node and
// the `webgpu` package, nothing to build): on the device machine, after `source .gpu/setup.sh`,
//
//   node bench/experiments/tensor-core/probe.mjs [--att] [--out DIR]      (NOROBUST=1: Dawn's disable_robustness)
//
// 1. Prints the adapter's subgroup-matrix configurations.
// 2. Checks every tile configuration of matmul-tensor.wgsl (and the vec4<f16>-staged variant) against float64
//    at shapes that are not multiples of the tiles, with transposes, batch, epilogues and A_SCALE: the error
//    against float64 of the float16-rounded inputs (must be float32 rounding, < 1e-4 of Σ|a·b|) and against
//    float64 of the float32 inputs (what float16 costs).
// 3. Times them beside matmulWideVec4 at the step's shapes, with the PROBE modes that take parts of the
//    work out (see matmul-tensor.wgsl). --att times matmulWideVec4 at attention-shaped batched products instead.
// Writes probe[-norobust].json and .txt to --out (default $OUT, else the current folder).
import { create, globals } from 'webgpu';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeGpu, seeded } from '../probe-gpu.mjs';

Object.assign(globalThis, globals);
const here = dirname(fileURLToPath(import.meta.url));
const shaders = join(here, '../../../shaders');
const args = process.argv.slice(2);
const outDir = args.includes('--out') ? args[args.indexOf('--out') + 1] : (process.env.OUT ?? '.');
const att = args.includes('--att');
const noRobust = !!process.env.NOROBUST;
const lines = [];
const log = (...a) => {
  const s = a.join(' ');
  console.log(s);
  lines.push(s);
};

// Keep the instance referenced for the whole process (Dawn aborts if it is collected under a live device).
const instance = create([
  `enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia${noRobust ? ',disable_robustness' : ''}`,
]);
globalThis.keepInstance = instance;
const adapter = await instance.requestAdapter({ powerPreference: 'high-performance' });
log(
  'adapter',
  adapter.info.vendor,
  adapter.info.description,
  'subgroup size',
  adapter.info.subgroupMinSize,
  adapter.info.subgroupMaxSize,
);
log('robustness', noRobust ? 'OFF (disable_robustness)' : 'on');
const configs = [...(adapter.info.subgroupMatrixConfigs ?? [])].map(
  (c) => `${c.componentType}→${c.resultComponentType} ${c.M}×${c.N}×${c.K}`,
);
log('subgroup matrix configurations:', configs.join(', ') || 'none');
const wanted = ['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix', 'timestamp-query'];
const missing = wanted.filter((f) => !adapter.features.has(f));
if (missing.length > 0) {
  log('missing features:', missing.join(', '), '— nothing to measure here');
  process.exit(1);
}
const limits = [
  'maxComputeWorkgroupStorageSize',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
];
const device = await adapter.requestDevice({
  requiredFeatures: wanted,
  requiredLimits: Object.fromEntries(limits.map((l) => [l, adapter.limits[l]])),
});
let errors = 0;
device.addEventListener('uncapturederror', (e) => {
  if (errors++ < 5) log('GPU error:', e.error.message.slice(0, 600));
});

const gelu = readFileSync(join(shaders, 'gelu-math.wgsl'), 'utf8');
const { compile, checkMatmul, timeMatmul } = probeGpu(device, log);

/**
 * matmul-tensor.wgsl staging vec4<f16>: one 8-byte store per vec4 instead of four 2-byte ones. A subgroup matrix
 * load from an array of vectors counts offset and stride in vectors, so those are divided by 4 (the rows are
 * multiples of 8 halves). Throws if the shader no longer has the lines this rewrites.
 */
function vec4Staged(src) {
  const edits = [
    [/array<f16, (select\([^;]*\) \* S[AB])>;/g, 'array<vec4<f16>, $1 / 4u>;', 2],
    [
      / {2}(as_|bs)\[i\] = h\.x;\n {2}\1\[i \+ 1u\] = h\.y;\n {2}\1\[i \+ 2u\] = h\.z;\n {2}\1\[i \+ 3u\] = h\.w;/g,
      '  $1[i / 4u] = h;',
      2,
    ],
    [/(subgroupMatrixLoad<[^(]*\()([^,]+), ([^,]+), ([^)]+)\)/g, '$1$2, ($3) / 4u, ($4) / 4u)', 4],
  ];
  let out = src;
  for (const [pattern, replacement, count] of edits) {
    const found = out.match(pattern)?.length ?? 0;
    if (found !== count) throw new Error(`vec4Staged: ${found} matches of ${pattern}, expected ${count}`);
    out = out.replace(pattern, replacement);
  }
  return out;
}

// `enable` directives must come first, so gelu-math follows the tensor shaders and precedes the float32 one.
const tensorSource = readFileSync(join(here, 'matmul-tensor.wgsl'), 'utf8');
const tensor = await compile(`${tensorSource}\n${gelu}`, 'matmul-tensor');
const tensorV4h = await compile(`${vec4Staged(tensorSource)}\n${gelu}`, 'matmul-tensor-v4h');
const vec4 = await compile(
  `${gelu}\n${readFileSync(join(shaders, 'matmul-wide-vec4.wgsl'), 'utf8')}`,
  'matmulWideVec4',
);

// Workgroups: x over N tiles, y over M tiles, z over the batch.
function grid(kind, c, p) {
  const [tn, tm] = kind === 'tensor' ? [16 * c.FN * c.SG_N, 16 * c.FM * c.SG_M] : [8 * c.WG_N, 8 * c.WG_M];
  return [Math.ceil(p.N / tn), Math.ceil(p.M / tm), Math.min(p.batch, 65535)];
}

// float16 round to nearest even (normal and subnormal range; these inputs never overflow).
function f16(x) {
  if (x === 0 || !Number.isFinite(x)) return x;
  const ulp = 2 ** (Math.max(Math.floor(Math.log2(Math.abs(x))), -14) - 10);
  const q = x / ulp;
  let r = Math.round(q); // ties go up, to +∞; to even instead:
  if (r - q === 0.5 && r % 2 !== 0) r -= 1;
  return r * ulp;
}
const rnd = seeded(1);

/** Worst error over C (and aux for gelu), each divided by 1.5·Σ|a·b| + |beta| + 1. */
async function check(kind, module, c, shape) {
  const consts = { ...c, ...(kind === 'tensor' ? { A_SCALE: shape.scaleA ?? 1 } : {}) };
  const round = kind === 'tensor' ? f16 : (x) => x;
  const r = await checkMatmul(module, consts, shape, (p) => grid(kind, c, p), rnd, round);
  return { vsF16: r.vsRounded, vsF32: r.vsExact, pass: r.vsRounded < 1e-4 };
}

/** Best of 4 passes of back-to-back dispatches, µs per dispatch (timestamp queries). */
const time = (kind, module, c, shape) => timeMatmul(module, c, shape, (p) => grid(kind, c, p));

// Tiles: a subgroup owns 16·FM × 16·FN of C; SG_M × SG_N subgroups. FM ≤ SG_N and FN ≤ SG_M keep the staging
// at ≤ 4 vec4s per invocation.
const TENSOR_TILES = {
  '128x128': { FM: 2, FN: 4, SG_M: 4, SG_N: 2 },
  '128x64': { FM: 2, FN: 2, SG_M: 4, SG_N: 2 },
  '32x64': { FM: 1, FN: 2, SG_M: 2, SG_N: 2 },
  '256x128': { FM: 2, FN: 4, SG_M: 8, SG_N: 2 },
};
const VEC4_TILES = {
  '128x128k16': { WG_M: 16, WG_N: 16, TILE_K: 16 },
  '128x64k16': { WG_M: 16, WG_N: 8, TILE_K: 16 },
};
const CHECK_SHAPES = [
  { M: 100, N: 68, K: 40, TA: 0, TB: 0 },
  { M: 260, N: 132, K: 100, TA: 0, TB: 1, epi: 1, bias: 1 },
  { M: 132, N: 200, K: 72, TA: 1, TB: 0, epi: 2, beta: 0.5 },
  { M: 36, N: 44, K: 52, TA: 1, TB: 1, batch: 3, epi: 3, bias: 1 },
  { M: 64, N: 64, K: 256, TA: 0, TB: 1, scaleA: 1024, amag: 1e-5 },
];
const results = { robustness: !noRobust, configs, checks: [], times: [] };
const passed = new Set();
for (const [variant, module] of [
  ['f16', tensor],
  ['v4h', tensorV4h],
]) {
  if (!module) continue;
  for (const [tile, c] of Object.entries(TENSOR_TILES)) {
    let ok = true;
    for (const s of CHECK_SHAPES) {
      const r = await check('tensor', module, c, s);
      ok &&= r.pass;
      results.checks.push({ variant, tile, shape: s, ...r });
      log(
        `check ${variant} ${tile} ${JSON.stringify(s)}: vs float64 of the f16-rounded inputs ${r.vsF16.toExponential(2)}, vs float64 ${r.vsF32.toExponential(2)} → ${r.pass ? 'PASS' : 'FAIL'}`,
      );
    }
    if (ok) passed.add(`${variant} ${tile}`);
  }
}
for (const s of CHECK_SHAPES.slice(0, 4)) {
  const r = await check('vec4', vec4, VEC4_TILES['128x128k16'], s);
  log(`check matmulWideVec4 128x128k16 ${JSON.stringify(s)}: vs float64 ${r.vsF32.toExponential(2)}`);
}

const TIME_SHAPES = att
  ? [
      ['S = Q·Kᵀ, 256 heads contiguous', { M: 128, N: 128, K: 64, TB: 1, batch: 256 }],
      [
        'S = Q·Kᵀ, one head of 64 in the qkv layout',
        {
          M: 128,
          N: 128,
          K: 64,
          TB: 1,
          batch: 64,
          ldA: 768,
          ldB: 768,
          sA: 128 * 768,
          sB: 128 * 768,
          sC: 128 * 128,
        },
      ],
      ['O = P·V, 256 heads', { M: 128, N: 64, K: 128, batch: 256 }],
      ['dK = dSᵀ·Q, 256 heads', { M: 128, N: 64, K: 128, TA: 1, batch: 256 }],
    ]
  : [
      ['8192×1024×256', { M: 8192, N: 1024, K: 256 }],
      ['8192×256×1024', { M: 8192, N: 256, K: 1024 }],
      ['1024×256×1024', { M: 1024, N: 256, K: 1024 }],
      ['16384×3072×768', { M: 16384, N: 3072, K: 768 }],
      ['4096×4096×4096', { M: 4096, N: 4096, K: 4096 }],
    ];
// The GPU's clocks rise only after a while of work: the first shape timed in a fresh process came out several
// times slower than later (e.g. 742.7 µs against ~135 µs). Half a second of matmuls first, not recorded.
for (let i = 0; i < 4; i++) await time('vec4', vec4, VEC4_TILES['128x128k16'], { M: 4096, N: 4096, K: 4096 });
for (const [label, s] of TIME_SHAPES) {
  const flop = 2 * s.M * s.N * s.K * (s.batch ?? 1);
  const row = { label, shape: s, us: {} };
  const say = (name, us) => {
    row.us[name] = us;
    log(`  ${label}  ${name}: ${us.toFixed(1)} µs, ${(flop / us / 1e6).toFixed(1)} TFLOP/s`);
  };
  for (const [tile, c] of Object.entries(VEC4_TILES))
    say(`matmulWideVec4 ${tile}`, await time('vec4', vec4, c, s));
  if (!att) {
    for (const [variant, module] of [
      ['f16', tensor],
      ['v4h', tensorV4h],
    ]) {
      for (const [tile, c] of Object.entries(TENSOR_TILES)) {
        if (!passed.has(`${variant} ${tile}`)) continue;
        for (const probe of variant === 'f16' ? [0, 1, 2, 4] : [0]) {
          say(`${variant} ${tile} PROBE ${probe}`, await time('tensor', module, { ...c, PROBE: probe }, s));
        }
      }
    }
  }
  results.times.push(row);
}
await device.queue.onSubmittedWorkDone();
const name = `probe${att ? '-att' : ''}${noRobust ? '-norobust' : ''}`;
writeFileSync(join(outDir, `${name}.json`), JSON.stringify(results, null, 1));
writeFileSync(join(outDir, `${name}.txt`), `${lines.join('\n')}\n`);
process.exit(errors > 0 ? 1 : 0);

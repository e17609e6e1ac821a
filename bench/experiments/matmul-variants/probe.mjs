// Issue 16: is matmulWideVec4 held back by how its inner loop is written rather than by its tiles? Standalone
// (plain Node and the `webgpu` package, nothing to build): on the device machine, after `source .gpu/setup.sh`,
//
//   node bench/experiments/matmul-variants/probe.mjs [--before FILE] [--out DIR] [--check-only]
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
// The first measurement's FILE is `git show 614df45:shaders/matmul-wide-vec4.wgsl` (put it in an ignored folder
// that travels to the device, e.g. .work/).
// Each variant is checked against float64 at shapes that are not multiples of the tiles (transposes, batch,
// epilogues) before it is timed; a failing variant is not timed.
// Writes probe[-norobust].json and .txt to --out (default $OUT, else the current folder).
import { create, globals } from 'webgpu';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

async function compile(code, label) {
  const module = device.createShaderModule({ code, label });
  const info = await module.getCompilationInfo();
  const bad = info.messages.filter((m) => m.type === 'error');
  if (bad.length > 0)
    log(
      label,
      'does not compile:',
      bad
        .slice(0, 4)
        .map((m) => `${m.lineNum}:${m.linePos} ${m.message}`)
        .join(' | '),
    );
  return bad.length > 0 ? null : module;
}

const PARAMS = [
  'M',
  'N',
  'K',
  'batch',
  'offA',
  'offB',
  'offC',
  'strideA',
  'strideB',
  'strideC',
  'alpha',
  'beta',
  'hasBias',
  'ldA',
  'ldC',
  'ldB',
];
function uniform(p) {
  const bytes = new ArrayBuffer(64);
  const view = new DataView(bytes);
  PARAMS.forEach((name, i) => {
    const v = p[name] ?? 0;
    if (name === 'alpha' || name === 'beta') view.setFloat32(i * 4, v, true);
    else view.setUint32(i * 4, v, true);
  });
  const b = device.createBuffer({ size: 64, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(b, 0, bytes);
  return b;
}
const pipelines = new Map();
function pipeline(module, constants) {
  const key = `${module.label} ${JSON.stringify(constants)}`;
  if (!pipelines.has(key)) {
    pipelines.set(
      key,
      device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main', constants } }),
    );
  }
  return pipelines.get(key);
}
function storage(data, floats) {
  const size = Math.max(16, Math.ceil(((floats ?? data.length) * 4) / 16) * 16);
  const b = device.createBuffer({
    size,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  if (data) device.queue.writeBuffer(b, 0, data);
  return b;
}
async function read(b, n) {
  const r = device.createBuffer({
    size: Math.ceil((n * 4) / 16) * 16,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const e = device.createCommandEncoder();
  e.copyBufferToBuffer(b, 0, r, 0, r.size);
  device.queue.submit([e.finish()]);
  await r.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(r.getMappedRange().slice(0));
  r.unmap();
  r.destroy();
  return out.subarray(0, n);
}
const bindGroup = (pl, b, u) =>
  device.createBindGroup({
    layout: pl.getBindGroupLayout(0),
    entries: [b.a, b.b, b.bias, b.c, b.aux, u].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
const grid = (c, p) => [
  Math.ceil(p.N / (8 * c.WG_N)),
  Math.ceil(p.M / (8 * c.WG_M)),
  Math.min(p.batch, 65535),
];

// mulberry32
let seed = 1;
function uniformRandom() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
}
const rnd = (n) => Float32Array.from({ length: n }, () => uniformRandom());
const K_GELU = Math.sqrt(2 / Math.PI);
const geluD = (x) => {
  const t = Math.tanh(K_GELU * (x + 0.044715 * x ** 3));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * K_GELU * (1 + 3 * 0.044715 * x * x);
};
const geluF = (x) => 0.5 * x * (1 + Math.tanh(K_GELU * (x + 0.044715 * x ** 3)));

/** Worst error over C (and aux for gelu) against float64, each divided by 1.5·Σ|a·b| + |beta| + 1. */
async function check(module, c, shape) {
  const { M, N, K, TA, TB, batch = 1, epi = 0, beta = 0, bias = 0 } = shape;
  const [sA, sB, sC] = [M * K, K * N, M * N];
  const A = rnd(sA * batch);
  const B = rnd(sB * batch);
  const C0 = rnd(sC * batch);
  const Bi = rnd(N);
  const X = rnd(sC * batch);
  const b = { a: storage(A), b: storage(B), bias: storage(Bi), c: storage(C0), aux: storage(X) };
  const p = { M, N, K, batch, strideA: sA, strideB: sB, strideC: sC, alpha: 1.5, beta, hasBias: bias };
  const pl = pipeline(module, { ...c, TRANS_A: TA, TRANS_B: TB, EPILOGUE: epi });
  const e = device.createCommandEncoder();
  const pass = e.beginComputePass();
  pass.setPipeline(pl);
  pass.setBindGroup(0, bindGroup(pl, b, uniform(p)));
  pass.dispatchWorkgroups(...grid(c, p));
  pass.end();
  device.queue.submit([e.finish()]);
  const got = await read(b.c, sC * batch);
  const gotAux = epi === 1 ? await read(b.aux, sC * batch) : null;
  let worst = 0;
  for (let bt = 0; bt < batch; bt++)
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let exact = 0;
        let mag = 0;
        for (let k = 0; k < K; k++) {
          const av = TA ? A[bt * sA + k * M + m] : A[bt * sA + m * K + k];
          const bv = TB ? B[bt * sB + n * K + k] : B[bt * sB + k * N + n];
          exact += av * bv;
          mag += Math.abs(av * bv);
        }
        const i = bt * sC + m * N + n;
        let r = 1.5 * exact + (beta ? beta * C0[i] : 0) + (bias ? Bi[n] : 0);
        if (epi === 2) r += X[i];
        if (epi === 3) r *= geluD(X[i]);
        worst = Math.max(worst, Math.abs(got[i] - r) / (1.5 * mag + Math.abs(beta) + 1));
        if (epi === 1) worst = Math.max(worst, Math.abs(gotAux[i] - geluF(got[i])) / (Math.abs(got[i]) + 1));
      }
  Object.values(b).forEach((x) => x.destroy());
  return worst;
}

/** Best of 4 passes of `reps` back-to-back dispatches, µs per dispatch (timestamp queries). */
async function time(module, c, shape) {
  const { M, N, K, TA = 0, TB = 0, batch = 1 } = shape;
  const [sA, sB, sC] = [M * K, K * N, M * N];
  const b = {
    a: storage(null, sA * batch),
    b: storage(null, sB * batch),
    bias: storage(null, N),
    c: storage(null, sC * batch),
    aux: storage(null, 4),
  };
  const p = { M, N, K, batch, strideA: sA, strideB: sB, strideC: sC, alpha: 1, beta: 0, hasBias: 0 };
  const pl = pipeline(module, { ...c, TRANS_A: TA, TRANS_B: TB, EPILOGUE: 0 });
  const bg = bindGroup(pl, b, uniform(p));
  const wg = grid(c, p);
  const reps = M * N * K * batch > 2e10 ? 10 : 30;
  const qs = device.createQuerySet({ type: 'timestamp', count: 2 });
  const qb = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const rb = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  let best = Infinity;
  for (let t = 0; t < 4; t++) {
    const e = device.createCommandEncoder();
    const pass = e.beginComputePass({
      timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
    });
    pass.setPipeline(pl);
    pass.setBindGroup(0, bg);
    for (let i = 0; i < reps; i++) pass.dispatchWorkgroups(...wg);
    pass.end();
    e.resolveQuerySet(qs, 0, 2, qb, 0);
    e.copyBufferToBuffer(qb, 0, rb, 0, 16);
    device.queue.submit([e.finish()]);
    await rb.mapAsync(GPUMapMode.READ);
    const ts = new BigUint64Array(rb.getMappedRange().slice(0));
    rb.unmap();
    best = Math.min(best, Number(ts[1] - ts[0]) / 1e3 / reps);
  }
  Object.values(b).forEach((x) => x.destroy());
  [qs, qb, rb].forEach((x) => x.destroy());
  return best;
}

const TILES = {
  '128x128k16': { WG_M: 16, WG_N: 16, TILE_K: 16 },
  '128x128k32': { WG_M: 16, WG_N: 16, TILE_K: 32 },
  '128x64k16': { WG_M: 16, WG_N: 8, TILE_K: 16 },
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
};
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
for (const [tile, c] of Object.entries(TILES)) {
  const bytes = 16 * c.TILE_K * (2 * c.WG_M + 1 + 2 * c.WG_N + 1);
  if (bytes > wgStorage) {
    log(`${tile}: ${bytes} B of workgroup memory, the device offers ${wgStorage}: skipped`);
    continue;
  }
  for (const [name, f] of Object.entries(TRANSFORMS)) {
    const module = await compile(`${gelu}\n${f(c)}`, `${name} ${tile}`);
    if (!module) continue;
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

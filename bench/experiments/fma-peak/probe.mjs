// Issue 16: what FP32 rate can a WGSL kernel reach at all through this Dawn and driver? The matmul stops at
// 50 % of the H200's rated 67 TFLOP/s and no variant of its loop went further (../matmul-variants). This probe
// takes the matmul apart from the top: standalone (plain Node and the `webgpu` package), on the device machine
// after `source .gpu/setup.sh`:
//
//   node bench/experiments/fma-peak/probe.mjs [--out DIR] [--check-only]
//
// Kernels (256 invocations a workgroup, 132 × 16 workgroups, each timed over back-to-back dispatches):
//   fma ACC      ACC independent vec4 accumulators, each iteration one fma per accumulator, operands in
//                registers: the ceiling of straight-line FP32 multiply-adds
//   lds          matmulWideVec4's multiply as it is compiled (16 named vec4 accumulators, 2 + 2 vec4 reads of
//                the staged tiles per k, the k loop of TILE_K 32 unrolled), the tiles filled once, no global loads
//                and no barriers: the ceiling of the inner loop
//   lds+bar      the same with the two barriers per tile of 32 k the matmul has, and a store into the tile
//                per tile (as the matmul's staging stores)
// Each kernel writes the sum of its accumulators, and the host checks it against a float64 replay of the
// same arithmetic for a few invocations (so the compiler cannot drop the work, and what is timed computes
// what it says). FLOPs count 2 per multiply-add.
import { create, globals } from 'webgpu';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

Object.assign(globalThis, globals);
const args = process.argv.slice(2);
const outDir = args.includes('--out') ? args[args.indexOf('--out') + 1] : (process.env.OUT ?? '.');
const checkOnly = args.includes('--check-only');
const lines = [];
const log = (...a) => {
  const s = a.join(' ');
  console.log(s);
  lines.push(s);
};

const instance = create([]);
globalThis.keepInstance = instance;
const adapter = await instance.requestAdapter({ powerPreference: 'high-performance' });
log('adapter', adapter.info.vendor, adapter.info.description);
const hasTimestamps = adapter.features.has('timestamp-query');
const device = await adapter.requestDevice({
  requiredFeatures: hasTimestamps ? ['timestamp-query'] : [],
  requiredLimits: { maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize },
});
// The matmul's TILE_K 32 staging needs 33 KiB; an adapter with less (SwiftShader: 32 KiB) checks TILE_K 16.
const TK = adapter.limits.maxComputeWorkgroupStorageSize >= 2 * 32 * 33 * 16 ? 32 : 16;
log('lds kernels: TILE_K', TK);
let errors = 0;
device.addEventListener('uncapturederror', (e) => {
  if (errors++ < 5) log('GPU error:', e.error.message.slice(0, 600));
});

const WG = 256;
const GROUPS = checkOnly ? 4 : 132 * 16;
const THREADS = WG * GROUPS;

/** fma ACC: acc_i = fma(acc_i, x, y) ITERS times, acc_i seeded per invocation. */
function fmaKernel(acc, iters) {
  const decl = [];
  const body = [];
  const sum = [];
  for (let i = 0; i < acc; i++) {
    decl.push(`  var a${i} = vec4f(s + ${i}.0 * 0.001, s - ${i}.0 * 0.002, s * 0.5, 0.25 + ${i}.0 * 0.01);`);
    body.push(`    a${i} = fma(a${i}, x, y);`);
    sum.push(`a${i}`);
  }
  return `
@group(0) @binding(0) var<storage, read> xy: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4f>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let s = f32(gid.x % 97u) * 0.01;
  let x = xy[0];
  let y = xy[1];
${decl.join('\n')}
  for (var it = 0u; it < ${iters}u; it++) {
${body.join('\n')}
  }
  out[gid.x] = ${sum.join(' + ')};
}`;
}

/** lds: matmulWideVec4's k body on tiles staged once (WG_M = WG_N = 16, TILE_K = 32, padding 1). */
function ldsKernel(iters, barriers) {
  const ks = [];
  for (let kk = 0; kk < TK; kk++) {
    ks.push(`      {
        let a0 = as_[${kk}u * SA + ty];
        let a1 = as_[${kk}u * SA + 16u + ty];
        let b0 = bs[${kk}u * SB + tx];
        let b1 = bs[${kk}u * SB + 16u + tx];
        acc0 = fma(vec4f(a0.x), b0, acc0);
        acc1 = fma(vec4f(a0.x), b1, acc1);
        acc2 = fma(vec4f(a0.y), b0, acc2);
        acc3 = fma(vec4f(a0.y), b1, acc3);
        acc4 = fma(vec4f(a0.z), b0, acc4);
        acc5 = fma(vec4f(a0.z), b1, acc5);
        acc6 = fma(vec4f(a0.w), b0, acc6);
        acc7 = fma(vec4f(a0.w), b1, acc7);
        acc8 = fma(vec4f(a1.x), b0, acc8);
        acc9 = fma(vec4f(a1.x), b1, acc9);
        acc10 = fma(vec4f(a1.y), b0, acc10);
        acc11 = fma(vec4f(a1.y), b1, acc11);
        acc12 = fma(vec4f(a1.z), b0, acc12);
        acc13 = fma(vec4f(a1.z), b1, acc13);
        acc14 = fma(vec4f(a1.w), b0, acc14);
        acc15 = fma(vec4f(a1.w), b1, acc15);
      }`);
  }
  const accs = Array.from({ length: 16 }, (_, i) => `  var acc${i} = vec4f();`).join('\n');
  const sum = Array.from({ length: 16 }, (_, i) => `acc${i}`).join(' + ');
  return `
@group(0) @binding(0) var<storage, read> xy: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4f>;
const SA = 33u;
const SB = 33u;
var<workgroup> as_: array<vec4f, ${TK * 33}>;
var<workgroup> bs: array<vec4f, ${TK * 33}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_id) local: vec3u,
        @builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let tx = local.x;
  let ty = local.y;
  let s = f32(lid % 13u) * 0.01;
  for (var e = lid; e < ${TK * 33}u; e += 256u) {
    as_[e] = xy[0] * (1.0 + f32(e % 7u) * 0.001);
    bs[e] = xy[1] * (1.0 - f32(e % 5u) * 0.001);
  }
  workgroupBarrier();
${accs}
  for (var it = 0u; it < ${iters}u; it++) {
${barriers ? `    as_[lid] = xy[0] + vec4f(s * 1e-3);\n    workgroupBarrier();` : ''}
${ks.join('\n')}
${barriers ? '    workgroupBarrier();' : ''}
  }
  out[wid.x * 256u + lid] = ${sum};
}`;
}

function buffer(data, usage) {
  const b = device.createBuffer({
    size: Math.max(16, data.byteLength),
    usage: usage | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(b, 0, data);
  return b;
}

async function read(b, bytes) {
  const r = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const e = device.createCommandEncoder();
  e.copyBufferToBuffer(b, 0, r, 0, bytes);
  device.queue.submit([e.finish()]);
  await r.mapAsync(GPUMapMode.READ);
  const v = new Float32Array(r.getMappedRange().slice(0));
  r.unmap();
  r.destroy();
  return v;
}

// Values near 1 so long chains stay finite: acc → acc·x + y with x slightly below 1 converges.
const XY = new Float32Array([0.999, 0.9995, 0.998, 0.9999, 1e-3, 2e-3, -1e-3, 5e-4]);
const xyBuf = buffer(XY, GPUBufferUsage.STORAGE);
const outBuf = device.createBuffer({
  size: THREADS * 16,
  usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
});

const f = Math.fround;
/** float32 replay of fma ACC for invocation g (fma rounded once, as f32 fma is). */
function replayFma(acc, iters, g) {
  const s = f(f(g % 97) * f(0.01));
  const x = [...XY.slice(0, 4)];
  const y = [...XY.slice(4, 8)];
  const total = [0, 0, 0, 0];
  for (let i = 0; i < acc; i++) {
    let a = [f(s + f(i * 0.001)), f(s - f(i * 0.002)), f(s * 0.5), f(0.25 + f(i * 0.01))];
    for (let it = 0; it < iters; it++) a = a.map((v, c) => f(v * x[c] + y[c]));
    for (let c = 0; c < 4; c++) total[c] += a[c];
  }
  return total;
}

async function time(module, groups, flops) {
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bg = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: xyBuf } },
      { binding: 1, resource: { buffer: outBuf } },
    ],
  });
  const reps = checkOnly ? 1 : 10;
  const qs = hasTimestamps ? device.createQuerySet({ type: 'timestamp', count: 2 }) : null;
  const qb = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const rb = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  let best = Infinity;
  for (let t = 0; t < (checkOnly ? 1 : 5); t++) {
    const e = device.createCommandEncoder();
    const pass = e.beginComputePass(
      qs ? { timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {},
    );
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bg);
    for (let i = 0; i < reps; i++) pass.dispatchWorkgroups(groups);
    pass.end();
    if (qs) {
      e.resolveQuerySet(qs, 0, 2, qb, 0);
      e.copyBufferToBuffer(qb, 0, rb, 0, 16);
    }
    const t0 = performance.now();
    device.queue.submit([e.finish()]);
    await device.queue.onSubmittedWorkDone();
    let ms = performance.now() - t0;
    if (qs) {
      await rb.mapAsync(GPUMapMode.READ);
      const ts = new BigUint64Array(rb.getMappedRange().slice(0));
      rb.unmap();
      ms = Number(ts[1] - ts[0]) / 1e6;
    }
    best = Math.min(best, ms / reps);
  }
  return { ms: best, tflops: flops / (best * 1e9) };
}

const results = [];
const ITERS = checkOnly ? 8 : 4096;
for (const acc of [4, 8, 16, 32]) {
  const code = fmaKernel(acc, ITERS);
  const module = device.createShaderModule({ code });
  const flops = THREADS * ITERS * acc * 8;
  const r = await time(module, GROUPS, flops);
  const got = await read(outBuf, THREADS * 16);
  let worst = 0;
  for (const g of [0, 1, 255, 256, THREADS - 1]) {
    const want = replayFma(acc, ITERS, g);
    for (let c = 0; c < 4; c++)
      worst = Math.max(worst, Math.abs(got[4 * g + c] - want[c]) / (Math.abs(want[c]) + 1));
  }
  const ok = worst < 1e-4;
  log(
    `fma ${acc}`.padEnd(12),
    `${r.ms.toFixed(3)} ms`.padStart(12),
    `${r.tflops.toFixed(1)} TFLOP/s`.padStart(16),
    ok ? 'check ok' : `CHECK FAILED (${worst})`,
  );
  results.push({ kernel: `fma ${acc}`, ...r, check: worst });
}

/** float64 replay of one lds invocation's output (its tile values and the order of its adds). */
function replayLds(iters, barriers, wg, lid) {
  const as_ = [];
  const bs = [];
  for (let e = 0; e < TK * 33; e++) {
    as_.push([0, 1, 2, 3].map((c) => f(XY[c] * f(1 + f(f(e % 7) * f(0.001))))));
    bs.push([0, 1, 2, 3].map((c) => f(XY[4 + c] * f(1 - f(f(e % 5) * f(0.001))))));
  }
  const tx = lid % 16;
  const ty = Math.floor(lid / 16);
  const acc = Array.from({ length: 16 }, () => [0, 0, 0, 0]);
  for (let it = 0; it < iters; it++) {
    // Every invocation writes its own slot: the staged value is the same for all (s only varies by lid).
    if (barriers)
      for (let l = 0; l < 256; l++)
        as_[l] = [0, 1, 2, 3].map((c) => f(XY[c] + f(f(f(l % 13) * f(0.01)) * f(1e-3))));
    for (let kk = 0; kk < TK; kk++) {
      const a0 = as_[kk * 33 + ty];
      const a1 = as_[kk * 33 + 16 + ty];
      const b0 = bs[kk * 33 + tx];
      const b1 = bs[kk * 33 + 16 + tx];
      const av = [...a0, ...a1];
      for (let i = 0; i < 8; i++) {
        for (let c = 0; c < 4; c++) {
          acc[2 * i][c] = f(av[i] * b0[c] + acc[2 * i][c]);
          acc[2 * i + 1][c] = f(av[i] * b1[c] + acc[2 * i + 1][c]);
        }
      }
    }
  }
  const total = [0, 0, 0, 0];
  for (const a of acc) for (let c = 0; c < 4; c++) total[c] += a[c];
  return total;
}

const LDS_ITERS = checkOnly ? 2 : 256;
for (const barriers of [false, true]) {
  const module = device.createShaderModule({ code: ldsKernel(LDS_ITERS, barriers) });
  const flops = THREADS * LDS_ITERS * TK * 64 * 2;
  const r = await time(module, GROUPS, flops);
  const got = await read(outBuf, THREADS * 16);
  let worst = 0;
  for (const [wg, lid] of [
    [0, 0],
    [0, 17],
    [1, 255],
  ]) {
    const want = replayLds(LDS_ITERS, barriers, wg, lid);
    const g = wg * 256 + lid;
    for (let c = 0; c < 4; c++)
      worst = Math.max(worst, Math.abs(got[4 * g + c] - want[c]) / (Math.abs(want[c]) + 1));
  }
  const ok = worst < 1e-3;
  const name = barriers ? 'lds+bar' : 'lds';
  log(
    name.padEnd(12),
    `${r.ms.toFixed(3)} ms`.padStart(12),
    `${r.tflops.toFixed(1)} TFLOP/s`.padStart(16),
    ok ? 'check ok' : `CHECK FAILED (${worst})`,
  );
  results.push({ kernel: name, ...r, check: worst });
}

writeFileSync(join(outDir, 'fma-peak.json'), JSON.stringify({ adapter: adapter.info, results }, null, 1));
writeFileSync(join(outDir, 'fma-peak.txt'), lines.join('\n') + '\n');
if (results.some((r) => !(r.check < 1e-3))) process.exitCode = 1;

// What the standalone matmul probes (tensor-core/probe.mjs, matmul-variants/probe.mjs) share: buffers, the
// matmul kernels' uniform Params, cached pipelines, readback, a timestamp timer, a seeded generator and the
// float64 GELU references. Plain Node and the `webgpu` package (no build); `device` is the probe's own.

/** The matmul kernels' Params struct, in declaration order (shaders/matmul-wide-vec4.wgsl). */
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
  'kLast',
  // matmul-wide-vec4.wgsl's LoRA term (zero here: LORA_R = 0). The pipe kernel's Params end at kLast; the
  // longer uniform buffer is harmless to it.
  'loraScale',
  'loraOffB',
  'loraStrideB',
  'loraRows',
];

/** Helpers bound to one device; `log` receives compile errors. */
export function probeGpu(device, log) {
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
    if (bad.length > 0) return null;
    // Whether the shader declares the LoRA operands (bindGroup binds them).
    module.lora = /var<storage, read> loraU:/.test(code);
    return module;
  }

  function uniform(p) {
    const bytes = new ArrayBuffer(Math.ceil((PARAMS.length * 4) / 16) * 16);
    const view = new DataView(bytes);
    PARAMS.forEach((name, i) => {
      const v = p[name] ?? 0;
      if (name === 'alpha' || name === 'beta') view.setFloat32(i * 4, v, true);
      else view.setUint32(i * 4, v, true);
    });
    const b = device.createBuffer({
      size: bytes.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(b, 0, bytes);
    return b;
  }

  const pipelines = new Map();
  function pipeline(module, constants) {
    const key = `${module.label} ${JSON.stringify(constants)}`;
    if (!pipelines.has(key)) {
      pipelines.set(
        key,
        Object.assign(
          device.createComputePipeline({
            layout: 'auto',
            compute: { module, entryPoint: 'main', constants },
          }),
          { lora: module.lora },
        ),
      );
    }
    return pipelines.get(key);
  }

  /** A storage buffer holding `data`, or of `floats` floats left as Dawn zeroes it. */
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

  /**
   * The matmul kernels' bind group: a, b, bias, c, aux, then the uniform; a kernel declaring matmul-wide-vec4.wgsl's
   * LoRA operands (loraU, loraB before the uniform) gets b for both (unused with LORA_R = 0).
   */
  const bindGroup = (pl, b, u) =>
    device.createBindGroup({
      layout: pl.getBindGroupLayout(0),
      entries: [b.a, b.b, b.bias, b.c, b.aux, ...(pl.lora ? [b.b, b.b] : []), u].map((buffer, binding) => ({
        binding,
        resource: { buffer },
      })),
    });

  /** One dispatch of `pl` with `buffers` and params `p`, submitted. */
  function dispatchOnce(pl, buffers, p, workgroups) {
    const e = device.createCommandEncoder();
    const pass = e.beginComputePass();
    pass.setPipeline(pl);
    pass.setBindGroup(0, bindGroup(pl, buffers, uniform(p)));
    pass.dispatchWorkgroups(...workgroups);
    pass.end();
    device.queue.submit([e.finish()]);
  }

  /**
   * Best of 4 passes of back-to-back dispatches (10 above 2e10 multiply-adds a dispatch, else 30), µs per
   * dispatch (timestamp queries). Destroys `buffers` afterwards.
   */
  async function timeDispatches(pl, buffers, p, workgroups, macs) {
    const bg = bindGroup(pl, buffers, uniform(p));
    const reps = macs > 2e10 ? 10 : 30;
    const qs = device.createQuerySet({ type: 'timestamp', count: 2 });
    const qb = device.createBuffer({
      size: 16,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    const rb = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    let best = Infinity;
    for (let t = 0; t < 4; t++) {
      const e = device.createCommandEncoder();
      const pass = e.beginComputePass({
        timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
      });
      pass.setPipeline(pl);
      pass.setBindGroup(0, bg);
      for (let i = 0; i < reps; i++) pass.dispatchWorkgroups(...workgroups);
      pass.end();
      e.resolveQuerySet(qs, 0, 2, qb, 0);
      e.copyBufferToBuffer(qb, 0, rb, 0, 16);
      device.queue.submit([e.finish()]);
      await rb.mapAsync(GPUMapMode.READ);
      const ts = new BigUint64Array(rb.getMappedRange().slice(0));
      rb.unmap();
      best = Math.min(best, Number(ts[1] - ts[0]) / 1e3 / reps);
    }
    Object.values(buffers).forEach((x) => x.destroy());
    [qs, qb, rb].forEach((x) => x.destroy());
    return best;
  }

  /**
   * Runs one matmul (alpha 1.5, the shape's transposes, batch, beta, bias, epilogue) on random inputs from
   * `rnd` and compares it with float64, each error divided by 1.5·Σ|a·b| + |beta| + 1: `vsRounded` against
   * the product of the inputs passed through `round` (A scaled by `scaleA` first; also the gelu epilogue's
   * aux against gelu(C)), `vsExact` against the product of the float32 inputs.
   */
  async function checkMatmul(module, constants, shape, workgroups, rnd, round = (x) => x) {
    const { M, N, K, TA, TB, batch = 1, epi = 0, beta = 0, bias = 0, scaleA = 1, amag = 1 } = shape;
    const [sA, sB, sC] = [M * K, K * N, M * N];
    const A = rnd(sA * batch, amag);
    const B = rnd(sB * batch);
    const C0 = rnd(sC * batch);
    const Bi = rnd(N);
    const X = rnd(sC * batch);
    const b = { a: storage(A), b: storage(B), bias: storage(Bi), c: storage(C0), aux: storage(X) };
    const p = { M, N, K, batch, strideA: sA, strideB: sB, strideC: sC, alpha: 1.5, beta, hasBias: bias };
    const pl = pipeline(module, { ...constants, TRANS_A: TA, TRANS_B: TB, EPILOGUE: epi });
    dispatchOnce(pl, b, p, workgroups(p));
    const got = await read(b.c, sC * batch);
    const gotAux = epi === 1 ? await read(b.aux, sC * batch) : null;
    let vsExact = 0;
    let vsRounded = 0;
    for (let bt = 0; bt < batch; bt++)
      for (let m = 0; m < M; m++)
        for (let n = 0; n < N; n++) {
          let exact = 0;
          let rounded = 0;
          let mag = 0;
          for (let k = 0; k < K; k++) {
            const av = TA ? A[bt * sA + k * M + m] : A[bt * sA + m * K + k];
            const bv = TB ? B[bt * sB + n * K + k] : B[bt * sB + k * N + n];
            exact += av * bv;
            rounded += (round(av * scaleA) / scaleA) * round(bv);
            mag += Math.abs(av * bv);
          }
          const i = bt * sC + m * N + n;
          const finish = (v) => {
            let r = 1.5 * v + (beta ? beta * C0[i] : 0) + (bias ? Bi[n] : 0);
            if (epi === 2) r += X[i];
            if (epi === 1) r = geluD(r);
            if (epi === 3) r *= X[i];
            return r;
          };
          const tol = 1.5 * mag + Math.abs(beta) + 1;
          vsExact = Math.max(vsExact, Math.abs(got[i] - finish(exact)) / tol);
          vsRounded = Math.max(vsRounded, Math.abs(got[i] - finish(rounded)) / tol);
          // gelu: C holds gelu'(v) and aux gelu(v) (the engine's epilogue 1 keeps the slope for the backward).
          if (epi === 1) {
            const v = 1.5 * rounded + (beta ? beta * C0[i] : 0) + (bias ? Bi[n] : 0);
            vsRounded = Math.max(vsRounded, Math.abs(gotAux[i] - geluF(v)) / tol);
          }
        }
    Object.values(b).forEach((x) => x.destroy());
    return { vsRounded, vsExact };
  }

  /** Times one matmul of `shape` (alpha 1; its bias and epilogue, if any) on zeroed buffers: timeDispatches. */
  async function timeMatmul(module, constants, shape, workgroups) {
    const { M, N, K, TA = 0, TB = 0, batch = 1, ldA = 0, ldB = 0, ldC = 0, epi = 0, bias = 0 } = shape;
    const [sA, sB, sC] = [shape.sA ?? M * K, shape.sB ?? K * N, shape.sC ?? M * N];
    const b = {
      a: storage(null, sA * batch),
      b: storage(null, sB * batch),
      bias: storage(null, N),
      c: storage(null, sC * batch),
      aux: storage(null, epi ? sC * batch : 4),
    };
    const p = {
      M,
      N,
      K,
      batch,
      strideA: sA,
      strideB: sB,
      strideC: sC,
      alpha: 1,
      beta: 0,
      hasBias: bias,
      ldA,
      ldB,
      ldC,
    };
    const pl = pipeline(module, { ...constants, TRANS_A: TA, TRANS_B: TB, EPILOGUE: epi });
    return timeDispatches(pl, b, p, workgroups(p), M * N * K * batch);
  }

  return { compile, storage, read, checkMatmul, timeMatmul };
}

/**
 * rnd(n, scale): n uniform floats in (−scale, scale) from mulberry32 (full 32-bit state in integer arithmetic;
 * an LCG in doubles loses its low bits and repeats), one stream per call of seeded().
 */
export function seeded(seed = 1) {
  let state = seed;
  const next = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
  return (n, scale = 1) => Float32Array.from({ length: n }, () => next() * scale);
}

const K_GELU = Math.sqrt(2 / Math.PI);
/** gelu_new and its derivative in float64, the references of the gelu and geluGrad epilogues. */
export const geluF = (x) => 0.5 * x * (1 + Math.tanh(K_GELU * (x + 0.044715 * x ** 3)));
export const geluD = (x) => {
  const t = Math.tanh(K_GELU * (x + 0.044715 * x ** 3));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * K_GELU * (1 + 3 * 0.044715 * x * x);
};

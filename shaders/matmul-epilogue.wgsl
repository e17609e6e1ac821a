// The scalar matmul kernels' store epilogue (matmul.wgsl, matmul-wide.wgsl; override EPILOGUE, binding aux,
// as src/kernels/matmul.ts MATMUL_EPILOGUE): prepended after gelu-math.wgsl. WGSL resolves module-scope names
// in any order, so the shader that follows declares `aux` and `EPILOGUE`. matmul-wide-vec4.wgsl has its own
// vec4 form.
fn epilogue(idx: u32, v: f32) -> f32 {
  if (EPILOGUE == 1u) {
    let g = geluPair(v);
    aux[idx] = g.x;
    return g.y;
  } else if (EPILOGUE == 2u) {
    return aux[idx] + v;
  } else if (EPILOGUE == 3u) {
    return v * aux[idx];
  }
  return v;
}

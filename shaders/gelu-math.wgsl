// gelu_new of GPT-2 (the tanh approximation) and its derivative, as functions only: prepended to the
// shaders that apply them (gelu.wgsl, and the matmul epilogues), so that every caller evaluates the same
// float32 arithmetic.
//   y = 0.5·x·(1 + tanh(u)),  u = √(2/π)·(x + 0.044715·x³)
// evaluated as y = x·σ(2u), the same function (0.5·(1 + tanh u) = σ(2u)) without tanh, whose WGSL
// accuracy is loose and which may give NaN for large |u|, and without the cancellation of 1 + tanh u
// for negative x. Its derivative:
//   y' = σ + x·σ·(1 − σ)·2u',   σ = σ(2u),  u' = √(2/π)·(1 + 3·0.044715·x²)
// Past |u| = 15, σ(2u) is within 1e-13 of 0 or 1, so y = x or 0 and y' = 1 or 0 there; handling
// that tail apart keeps x³ overflowing to ±Inf (|x| > 7e12) from reaching exp or ∞·0.

const GELU_K: f32 = 0.7978845608028654;  // √(2/π)
const GELU_A: f32 = 0.044715;
const GELU_TAIL: f32 = 15.0;

fn geluInnerArg(x: f32) -> f32 {
  return GELU_K * fma(GELU_A * x * x, x, x);
}

// (σ(2u), 1 − σ(2u)), u clamped so that exp never overflows; 1 − σ = e·σ avoids the cancellation
// of 1 − σ when σ ≈ 1.
fn geluSigmoid2(u: f32) -> vec2f {
  let e = exp(-2.0 * clamp(u, -GELU_TAIL, GELU_TAIL));
  let s = 1.0 / (1.0 + e);
  return vec2f(s, e * s);
}

// y and y' from x, u = geluInnerArg(x) and s = geluSigmoid2(u): gelu, geluDerivative and geluPair all end here.
fn geluFrom(x: f32, u: f32, s: vec2f) -> f32 {
  return select(x * s.x, select(0.0, x, x > 0.0), abs(u) >= GELU_TAIL);
}

fn geluSlopeFrom(x: f32, u: f32, s: vec2f) -> f32 {
  let inside = s.x + x * s.x * s.y * 2.0 * GELU_K * fma(3.0 * GELU_A, x * x, 1.0);
  return select(inside, select(0.0, 1.0, x > 0.0), abs(u) >= GELU_TAIL);
}

fn gelu(x: f32) -> f32 {
  let u = geluInnerArg(x);
  return geluFrom(x, u, geluSigmoid2(u));
}

fn geluDerivative(x: f32) -> f32 {
  let u = geluInnerArg(x);
  return geluSlopeFrom(x, u, geluSigmoid2(u));
}

// (gelu(x), gelu'(x)) with one exp: the forward's epilogue stores the slope for the backward, whose epilogue
// then only multiplies (matmul EPILOGUE gelu and geluGrad).
fn geluPair(x: f32) -> vec2f {
  let u = geluInnerArg(x);
  let s = geluSigmoid2(u);
  return vec2f(geluFrom(x, u, s), geluSlopeFrom(x, u, s));
}

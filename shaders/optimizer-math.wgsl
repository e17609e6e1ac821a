// The element updates of the optimizers (ALGORITHM.md), shared by optimizer.wgsl (one thread per element) and
// optimizer-fused.wgsl (a workgroup per run and adapter), prepended to both by src/kernels/optimizer.ts so that
// both paths compute the same float32 operations.
//
// adamwStep follows the float32 operation order of torch.optim.AdamW (single-tensor and foreach paths):
//   p ← p · (1 − lr·wd)
//   m ← m + (1 − β1)(g − m)                 exp_avg.lerp_(grad, 1 − β1)
//   v ← v·β2 + (1 − β2)·g·g                 exp_avg_sq.mul_(β2).addcmul_(grad, grad, 1 − β2)
//   denom = sqrt(v) / sqrt(bc2) + ε
//   p ← p − (lr / bc1) · (m / denom)        param.addcdiv_(exp_avg, denom, value=−lr/bc1)
// (torch forms 1 − lr·wd, lr/bc1 and sqrt(bc2) in float64 on the host; here they are float32.)
// sgdStep (decoupled decay, ALGORITHM.md): p ← p · (1 − lr·wd); p ← p − lr·g.

// As HYPER_FIELDS in src/kernels/hyper.ts (checked by hyper.test.ts).
struct Hyper {
  lrA: f32, lrB: f32, beta1: f32, beta2: f32, eps: f32, weightDecay: f32,
  bc1: f32, bc2: f32, training: f32, rule: f32,
}
const RULE_ADAMW = 0.0;
const RULE_SGD = 1.0;

/** AdamW's step of one element at rate lr: (p, m, v) after it. */
fn adamwStep(h: Hyper, lr: f32, p: f32, grad: f32, m: f32, v: f32) -> vec3f {
  let mNew = m + (1.0 - h.beta1) * (grad - m);
  let vNew = v * h.beta2 + (1.0 - h.beta2) * (grad * grad);
  let denom = sqrt(vNew) / sqrt(h.bc2) + h.eps;
  return vec3f(p * (1.0 - lr * h.weightDecay) - (lr / h.bc1) * (mNew / denom), mNew, vNew);
}

/** SGD's step of one element at rate lr, with decoupled decay: p after it. */
fn sgdStep(h: Hyper, lr: f32, p: f32, grad: f32) -> f32 {
  return p * (1.0 - lr * h.weightDecay) - lr * grad;
}

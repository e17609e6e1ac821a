// Token + position embedding, repeated for every run of the sweep (the runs share tokens and the
// frozen wte, wpe, but each run's activations are its own):
//   out[ρ, b, t, c] = wte[tokens[b, t], c] + wpe[t, c]
// One thread per output element; e = (wid.y·num_workgroups.x + wid.x)·WG + lid folds past 65535 groups.
// wte may come in pieces of whole vocabulary rows (a vocabulary past the device's binding limit: see
// model/buffers.ts): the bound piece holds rows first .. first + count − 1, and one dispatch per piece
// writes only the elements whose token falls in it. Each token lies in exactly one piece, so every element
// is written once. Unsplit, the one piece is all of wte (first = 0, count = V).

struct Params { R: u32, Bt: u32, T: u32, C: u32, first: u32, count: u32 }

@group(0) @binding(0) var<storage, read> tokens: array<u32>;     // [Bt, T]
@group(0) @binding(1) var<storage, read> wte: array<f32>;        // [count, C]: rows first .. of [V, C]
@group(0) @binding(2) var<storage, read> wpe: array<f32>;        // [P, C], P ≥ T
@group(0) @binding(3) var<storage, read_write> out: array<f32>;  // [R, Bt, T, C]
@group(0) @binding(4) var<uniform> params: Params;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let C = params.C;
  let perRun = params.Bt * params.T;
  let e = (wid.y * nwg.x + wid.x) * WG + lid;
  if (e >= params.R * perRun * C) { return; }
  let c = e % C;
  let bt = (e / C) % perRun;  // b·T + t
  let t = bt % params.T;
  let tok = tokens[bt];
  if (tok < params.first || tok - params.first >= params.count) { return; }
  out[e] = wte[(tok - params.first) * C + c] + wpe[t * C + c];
}

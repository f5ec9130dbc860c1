// Greedy decoding's pick over a large vocabulary, in two dispatches instead of one workgroup walking it all (which
// cost 380 µs per token over Qwen3's 151,936 logits on an H200):
//   argmax_part: workgroup w takes logits [1024·w, 1024·w + 1024) and leaves (key of its max, lowest index reaching it);
//   argmax_pick: one workgroup reduces those pairs and writes the id.
// The value compared is sample.wgsl's at temperature 0: pick-common.wgsl's penalized logit (prepended), saturated
// at f32's largest finite value as ../sampling.ts does (an extreme penalty must not read as a non-finite logit). A non-finite logit anywhere makes the pick 0xFFFFFFFF (its pair wins
// every comparison): the host reports non-finite logits instead of trusting an id.
//   logits: [.., n] f32 (the row at row_offset);  seen: [n] u32;  partials: [2 · parts] u32;  out: [1] u32

struct Params {
  n: u32,
  row_offset: u32,
  parts: u32,
  repetition_penalty: f32,
  presence_penalty: f32,
}

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> seen: array<u32>;
@group(0) @binding(2) var<storage, read_write> partials: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;
@group(0) @binding(4) var<uniform> params: Params;

// Threads a workgroup: 256 on GPUs; 64 on CPU adapters, where a workgroup's lanes run as coroutines on one core and
// every barrier of the tree costs them all (a divisor of PER_GROUP).
override WG: u32 = 256u;
const PER_GROUP: u32 = 1024u;
var<workgroup> red_key: array<u32, WG>;
var<workgroup> red_idx: array<u32, WG>;

fn better(k: u32, i: u32, bk: u32, bi: u32) -> bool {
  return k > bk || (k == bk && i < bi);
}

// Reduces (key, index) pairs across the workgroup; thread 0 gets the winner.
fn reduce_pair(k: u32, i: u32, lid: u32) {
  red_key[lid] = k;
  red_idx[lid] = i;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s && better(red_key[lid + s], red_idx[lid + s], red_key[lid], red_idx[lid])) {
      red_key[lid] = red_key[lid + s];
      red_idx[lid] = red_idx[lid + s];
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(WG)
fn argmax_part(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * nwg.x;
  var bk = 0u;
  var bi = 0xffffffffu;
  for (var u = 0u; u < PER_GROUP / WG; u++) {
    let i = w * PER_GROUP + u * WG + lid;
    if (i < params.n) {
      let z = penalized(i);
      // NaN or ±Inf in the logit itself.
      let finite = !non_finite(logits[params.row_offset + i]);
      let k = select(0xffffffffu, key(z), finite);
      let idx = select(0xffffffffu, i, finite);
      if (better(k, idx, bk, bi)) {
        bk = k;
        bi = idx;
      }
    }
  }
  reduce_pair(bk, bi, lid);
  if (lid == 0u && w < params.parts) {
    partials[2u * w] = red_key[0];
    partials[2u * w + 1u] = red_idx[0];
  }
}

@compute @workgroup_size(WG)
fn argmax_pick(@builtin(local_invocation_index) lid: u32) {
  var bk = 0u;
  var bi = 0xffffffffu;
  for (var p = lid; p < params.parts; p += WG) {
    let k = partials[2u * p];
    let i = partials[2u * p + 1u];
    if (better(k, i, bk, bi)) {
      bk = k;
      bi = i;
    }
  }
  reduce_pair(bk, bi, lid);
  if (lid == 0u) {
    out[0] = red_idx[0];
  }
}

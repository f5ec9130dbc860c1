// QKVRoPE on projections computed elsewhere (a tensor-core or tiled GEMM): x holds the raw q | k | v rows,
// [seq, (NH + 2·NKV)·HD] f32, and one workgroup per (task, TM-row tile) runs the shared epilogue on them — QK-norm in
// f32, RoPE, q out and K/V into rows or the cache. Module = common.wgsl + this file.

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let task = wid.x; // < NH + 2·NKV
  let tile = wid.y;
  let row_len = (NH + 2u * NKV) * HD;
  for (var i = lid; i < TM * HD; i += WG) {
    let token = tile * TM + i / HD;
    var v = 0.0;
    if (token < params.seq) {
      v = x[token * row_len + task * HD + i % HD];
    }
    head_out[i] = v;
  }
  workgroupBarrier();
  epilogue(task, tile, lid);
}

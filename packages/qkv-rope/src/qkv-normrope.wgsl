// QKVRoPE decode (seq = 1), split, kernel 2 of 2: one workgroup per q or k head reads the raw projection that
// qkv-gemv.wgsl left in q_out / k_out and runs the shared epilogue on it in place. Module = common.wgsl + this file.

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let task = wid.x; // < NH + NKV: value heads are final already
  let src = out_index(task, 0u);
  for (var i = lid; i < HD; i += WG) {
    head_out[i] = select(k_out[src + i], q_out[src + i], task < NH);
  }
  workgroupBarrier();
  epilogue(task, 0u, lid);
}

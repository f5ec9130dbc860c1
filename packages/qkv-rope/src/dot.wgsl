// One lane's share of a weight row · x (decode kernels): LANES lanes stride the row's u32 words, eight loads in
// flight each. LANES is 1 on CPU adapters, where one invocation walking a whole row beats lanes meeting at a barrier.

override LANES: u32 = 32u;

// The products of one weight word with the matching x elements (word i of the row).
fn word_dot(word: u32, i: u32) -> f32 {
  if (W_DTYPE == F32) {
    return bitcast<f32>(word) * x[i];
  }
  return unpack_half(word, 0u, W_DTYPE) * x[2u * i] + unpack_half(word, 1u, W_DTYPE) * x[2u * i + 1u];
}

// Σ_k w[r, k] · x[k] over lane's words of row r (< HD) of the task's head.
fn row_dot(task: u32, r: u32, lane: u32) -> f32 {
  let hidden = params.hidden;
  if (W_DTYPE != F32 && (hidden & 1u) == 1u) {
    // Odd rows of 16-bit weights start mid-word: element by element.
    var acc = 0.0;
    for (var k = lane; k < hidden; k += LANES) {
      acc = fma(w_elem(task, r, k), x[k], acc);
    }
    return acc;
  }
  let words = select(hidden / 2u, hidden, W_DTYPE == F32);
  let base = (task_head(task) * HD + r) * words;
  let last = words - 1u;
  var acc = 0.0;
  for (var i = lane; i < words; i += 8u * LANES) {
    // Eight independent loads (clamped into the row; the out-of-row ones are masked below).
    var w: array<u32, 8>;
    for (var u = 0u; u < 8u; u++) {
      w[u] = w_word(task, base + min(i + u * LANES, last));
    }
    for (var u = 0u; u < 8u; u++) {
      let j = i + u * LANES;
      if (j < words) {
        acc += word_dot(w[u], j);
      }
    }
  }
  return acc;
}

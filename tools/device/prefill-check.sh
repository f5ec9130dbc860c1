#!/usr/bin/env bash
# One run on the GPU machine (../shared/device/README.md) for the prefill work: fidelity first (every parity golden
# and --compare-backends with the prefill GEMM on the FMA kernel, then on tensor cores), then speed: prompts of 512
# and 2,048 tokens to the first token through generate() on the old tiled kernel, the FMA GEMM and tensor cores,
# each run also timing decode (no regression), with HF transformers' bf16 prefill of 512 tokens as the anchor.
# Bundles are made here first:  bash tools/device/bundle.sh   then run there:  bash tools/device/prefill-check.sh
source tools/device/common.sh
TOKENS=${TOKENS:-256}
PREFILL=${PREFILL:-512,2048}

if [[ ${SKIP_PARITY:-} != 1 ]]; then
  echo "#### parity, prefill GEMM on the FMA kernel (QWEN3_WEBGPU_TENSOR_CORES=0)"
  QWEN3_WEBGPU_TENSOR_CORES=0 parity_goldens
  echo "#### parity, prefill GEMM on tensor cores (the CLIs' default)"
  QWEN3_WEBGPU_TENSOR_CORES=1 parity_goldens
fi

[[ -s /tmp/torch512.json ]] || step python3 tools/bench/qwen3_torch.py --model /tmp/synth-0.6b --prompt-len 512 --tokens 2 --check-tokens 1 > /tmp/torch512.json
echo "HF transformers bf16, 512-token prompt: $(python3 -c "import json; t=json.load(open('/tmp/torch512.json')); print(f\"prefill {t['prefill_ms']:.1f} ms = {512/t['prefill_ms']*1000:.0f} tok/s\")")"
# PATHS: which prefill paths to time (tiled = the old kernel, fma, tc = tensor cores with the default variant choice,
# tc-presplit = tensor cores with the presplit kernel everywhere, tc-512 = tensor cores in chunks of 512 rows, as
# before the chunks grew to 2,048, tc-convert = tensor cores with the weights kept as loaded and converted to f16 per
# call, as before they were stored as f16); PROFILE=N adds the per-kernel table of an N-token chunk.
for p in ${PATHS:-tiled fma tc}; do
  echo "#### prefill path $p"
  args=(--gemm "$p")
  [[ $p == tc ]] && args=(--gemm auto --tensor-cores)
  [[ $p == tc-presplit ]] && args=(--gemm auto --tensor-cores --tc-variant presplit)
  [[ $p == tc-512 ]] && args=(--gemm auto --tensor-cores --max-rows 512)
  [[ $p == tc-convert ]] && args=(--gemm auto --tensor-cores --no-store-f16)
  step qnode .device/bench/generate.bench.mjs --dir /tmp/synth-0.6b --tokens "$TOKENS" "${args[@]}" --prefill "$PREFILL" ${PROFILE:+--profile-prefill "$PROFILE"}
done
verdict

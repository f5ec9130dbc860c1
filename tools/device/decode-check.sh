#!/usr/bin/env bash
# One run on the GPU machine (../shared/device/README.md) for the decode work: correctness first (every parity
# golden and --compare-backends on the WebGPU backend, HF float32 greedy ids), then speed (generate() decode,
# the profiler, 8,192 cached positions, the CLI's stats line) with HF transformers as the anchor in the same run.
# Bundles are made here first:  bash tools/device/bundle.sh   then run there:  bash tools/device/decode-check.sh
source tools/device/common.sh
LONG=${LONG:-8192}
TOKENS=${TOKENS:-256}

[[ ${SKIP_PARITY:-} == 1 ]] || parity_goldens

[[ -s /tmp/torch.json ]] || step python3 tools/bench/qwen3_torch.py --model /tmp/synth-0.6b --prompt-len 32 --tokens "$TOKENS" > /tmp/torch.json
step qnode .device/bench/generate.bench.mjs --dir /tmp/synth-0.6b --tokens "$TOKENS" --torch /tmp/torch.json --profile --trace-decode --long "$LONG"
ids=$(python3 -c "print(','.join(str((i * 7919 + 13) % 151936) for i in range(32)))")
for mc in 2048 4096; do
  for r in 1 2 3; do
    echo "CLI --max-context $mc:"
    step qnode .device/generate/main.mjs --model /tmp/synth-0.6b --prompt-ids "$ids" --max-tokens "$TOKENS" --temperature 0 --max-context $mc 2>&1 >/dev/null | tail -2
  done
done
verdict

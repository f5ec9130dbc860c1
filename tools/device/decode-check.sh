#!/usr/bin/env bash
# One run on the GPU machine (../shared/device/README.md) for the decode work: correctness first (every parity
# golden and --compare-backends on the WebGPU backend, HF float32 greedy ids), then speed (generate() decode,
# the profiler, 8,192 cached positions, the CLI's stats line) with HF transformers as the anchor in the same run.
# Bundles are made here first:  bash tools/device/bundle.sh   then run there:  bash tools/device/decode-check.sh
set -uo pipefail
failed=()
step() { echo "== $*" >&2; "$@" || failed+=("$*"); }
source .device/prelude.sh
export PYTHONUNBUFFERED=1
cp apps/generate/package.json /tmp/package.json
LONG=${LONG:-8192}
TOKENS=${TOKENS:-256}

[[ -f /tmp/synth-0.6b/model.safetensors ]] || step qnode .device/synth/synth-checkpoint.mjs --out /tmp/synth-0.6b --seed 1
if [[ ${SKIP_PARITY:-} != 1 ]]; then
for g in tiny-random stress; do
  step qnode .device/parity/main.mjs --model apps/parity/fixtures/$g --golden apps/parity/goldens/$g.golden.json
  step qnode .device/parity/main.mjs --model apps/parity/fixtures/$g --compare-backends --golden apps/parity/goldens/$g.golden.json
done
step qnode .device/parity/main.mjs --model apps/generate/model --golden apps/parity/goldens/qwen3-tiny-stdlib.golden.json
step qnode .device/parity/main.mjs --model apps/generate/model --compare-backends --golden apps/parity/goldens/qwen3-tiny-stdlib.golden.json
step qnode .device/parity/main.mjs --model /tmp/synth-0.6b --golden apps/parity/goldens/qwen3-0.6b-synthetic.golden.json
fi

[[ -s /tmp/torch.json ]] || step python3 tools/bench/qwen3_torch.py --model /tmp/synth-0.6b --prompt-len 32 --tokens "$TOKENS" > /tmp/torch.json
step qnode .device/bench/generate.bench.mjs --dir /tmp/synth-0.6b --tokens "$TOKENS" --torch /tmp/torch.json --profile --long "$LONG"
ids=$(python3 -c "print(','.join(str((i * 7919 + 13) % 151936) for i in range(32)))")
for r in 1 2 3; do
  step qnode .device/generate/main.mjs --model /tmp/synth-0.6b --prompt-ids "$ids" --max-tokens "$TOKENS" --temperature 0 2>&1 >/dev/null | tail -2
done
if ((${#failed[@]})); then printf "FAILED: %s\n" "${failed[@]}"; exit 1; fi
echo "all steps passed"

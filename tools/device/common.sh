# What the GPU-machine checks (decode-check.sh, prefill-check.sh) share: a step runner that records failures instead
# of stopping, Node and Dawn from .device/prelude.sh, the synthetic 0.6B checkpoint, every parity golden, the verdict.
# Sourced, not run.
set -uo pipefail
failed=()
step() { echo "== $*" >&2; "$@" || failed+=("$*"); }
source .device/prelude.sh
export PYTHONUNBUFFERED=1
# The bundled CLIs read their package.json (for --version) beside the copied script's parent.
cp apps/generate/package.json /tmp/package.json
[[ -f /tmp/synth-0.6b/model.safetensors ]] || step qnode .device/synth/synth-checkpoint.mjs --out /tmp/synth-0.6b --seed 1

# Every committed golden against HF float32, and --compare-backends where the CPU backend runs them quickly.
parity_goldens() {
  for g in tiny-random stress; do
    step qnode .device/parity/main.mjs --model apps/parity/fixtures/$g --golden apps/parity/goldens/$g.golden.json
    step qnode .device/parity/main.mjs --model apps/parity/fixtures/$g --compare-backends --golden apps/parity/goldens/$g.golden.json
  done
  step qnode .device/parity/main.mjs --model apps/generate/model --golden apps/parity/goldens/qwen3-tiny-stdlib.golden.json
  step qnode .device/parity/main.mjs --model apps/generate/model --compare-backends --golden apps/parity/goldens/qwen3-tiny-stdlib.golden.json
  step qnode .device/parity/main.mjs --model /tmp/synth-0.6b --golden apps/parity/goldens/qwen3-0.6b-synthetic.golden.json
}

verdict() {
  if ((${#failed[@]})); then
    printf "FAILED: %s\n" "${failed[@]}"
    exit 1
  fi
  echo "all steps passed"
}

#!/usr/bin/env bash
# Every artifact HF transformers must author, made in one run on the GPU machine (python3 with torch + transformers;
# node unpacked from .device/node.xz for the synthetic checkpoint). Results land in $1 (default $OUT/references):
#   qwen3-chat.json          hf_chat_fixtures.py over Qwen3's tokenizer files (.device/qwen3-tokenizer)
#   parity/tiny-random, parity/stress   hf_parity_checkpoints.py (checkpoints + golden.json each)
#   parity/qwen3-0.6b-synthetic.golden.json   hf_golden.py over `pnpm synth --seed 1` (the checkpoint stays there)
#   tiny/                    tools/train-tiny/train.py's model, its golden and its tokenizer fixtures
set -uo pipefail
# Each step runs even when an earlier one failed (one device run makes them all); failures are listed at the end.
failed=()
step() { echo "== $*"; "$@" || failed+=("$*"); }
export PYTHONUNBUFFERED=1
dest=${1:-$OUT/references}
mkdir -p "$dest/parity" "$dest/tiny" /tmp/rt
here=$(cd "$(dirname "$0")" && pwd)
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__, torch.cuda.get_device_name())"

if [[ ${ONLY:-} != tiny ]]; then  # ONLY=tiny: just the demonstration model (retraining)
step python3 "$here/hf_chat_fixtures.py" --tokenizer .device/qwen3-tokenizer --out "$dest/qwen3-chat.json"
step python3 "$here/hf_parity_checkpoints.py" --out "$dest/parity"

[[ -x /tmp/rt/node ]] || { xz -d -c .device/node.xz > /tmp/rt/node; chmod +x /tmp/rt/node; }
step /tmp/rt/node .device/synth/synth-checkpoint.mjs --out /tmp/synth-0.6b --seed 1
step python3 "$here/hf_golden.py" --model /tmp/synth-0.6b --ids 9707,11,1879,0,576,3974,13876,38835 --new-tokens 8 \
  --name "Qwen3-0.6B-shaped synthetic (pnpm synth --seed 1, bf16)" --out "$dest/parity/qwen3-0.6b-synthetic.golden.json"
fi

step python3 "$here/../train-tiny/train.py" --out "$dest/tiny" --steps "${TRAIN_STEPS:-5000}" --max-seconds "${TRAIN_SECONDS:-330}"
ids=$(python3 -c "import sys, tokenizers; print(','.join(map(str, tokenizers.Tokenizer.from_file(sys.argv[1]).encode('def fibonacci(n):\n    ').ids)))" "$dest/tiny/tokenizer.json")
step python3 "$here/hf_golden.py" --model "$dest/tiny" --ids "$ids" --new-tokens 32 --name "qwen3-tiny-stdlib (tools/train-tiny)" --out "$dest/tiny/golden.json"
step python3 "$here/hf_chat_fixtures.py" --tokenizer "$dest/tiny" --out "$dest/tiny/chat.json"
du -ab "$dest" | sort -k2
if ((${#failed[@]})); then printf "FAILED: %s\n" "${failed[@]}"; exit 1; fi
echo "all steps passed"

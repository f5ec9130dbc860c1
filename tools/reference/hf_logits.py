"""HF transformers float32 forward over a checkpoint directory: logits at every position of a prompt and the greedy
continuation. The truth the CPU and WebGPU backends are tested against (ARCHITECTURE.md, "Numerics").
    python3 tools/reference/hf_logits.py --model DIR --ids 1,2,3 --new-tokens 8 --out golden.json [--name NAME]
Loads the weights from disk with dtype=torch.float32 (never a bf16 model cast up: that also rounds inv_freq)."""
import argparse
import json

import torch
import transformers
from transformers import AutoModelForCausalLM


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--ids", required=True)
    p.add_argument("--new-tokens", type=int, default=8)
    p.add_argument("--out", required=True)
    p.add_argument("--name", default="")
    a = p.parse_args()
    ids = [int(t) for t in a.ids.split(",")]
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    with torch.no_grad():
        x = torch.tensor([ids])
        logits = model(x).logits[0]
        # Greedy by hand: generate() would build an attention mask from pad_token_id and silently mask prompt
        # tokens equal to it.
        seq = list(ids)
        for _ in range(a.new_tokens):
            seq.append(int(model(torch.tensor([seq])).logits[0, -1].argmax()))
    out = {
        "name": a.name,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "prompt_ids": ids,
        "logits": [[float(v) for v in row] for row in logits],
        "greedy_ids": seq[len(ids):],
    }
    with open(a.out, "w") as f:
        json.dump(out, f)
    print(json.dumps({"name": a.name, "positions": len(ids), "vocab": logits.shape[-1], "greedy": out["greedy_ids"]}))


if __name__ == "__main__":
    main()

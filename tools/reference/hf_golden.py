"""The parity golden: HF transformers' float32 forward over a checkpoint directory, summarized per decoder layer, plus
the greedy continuation in float32 and in the checkpoint's own dtype. apps/parity checks our backends against it.
    python3 tools/reference/hf_golden.py --model DIR --ids 1,2,3 [--new-tokens 16] --out FILE [--name NAME]

Schema (other tools rely on it; extra keys are informative):
    model, prompt_ids, greedy_ids, greedy_margins, last_logits_top [[id, logit] x 20],
    layers [{rms, first8, sum} per decoder layer output at the last prompt position], native_dtype_greedy_ids

float32 means the stored weights widened to float32 (exact for bf16/f16). They are loaded with dtype=float32 rather
than cast after a bf16 load, which would also round the rotary inv_freq buffer to bf16. The float32 model runs on the
CPU (no TF32, deterministic); the native-dtype model runs on CUDA when there is one, as users of HF would run it.
Greedy decoding is done by hand, a full forward per step: generate() would stop at EOS and build an attention mask
from pad_token_id that can silently hide prompt tokens equal to it."""
import argparse
import json
import math

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


def native_dtype(model_dir):
    cfg = AutoConfig.from_pretrained(model_dir)
    dt = getattr(cfg, "dtype", None) or getattr(cfg, "torch_dtype", None) or torch.float32
    return getattr(torch, dt) if isinstance(dt, str) else dt


def greedy(model, ids, n, device):
    """n greedy ids and, per step, the logits row they were picked from."""
    seq = list(ids)
    rows = []
    with torch.no_grad():
        for _ in range(n):
            row = model(torch.tensor([seq], device=device)).logits[0, -1].float().cpu()
            rows.append(row)
            seq.append(int(row.argmax()))
    return seq[len(ids):], rows


def layer_outputs(model, ids):
    """Each decoder layer's output [seq, hidden] (forward hooks: hidden_states tuples differ between versions, and
    their last entry is already normalized), and the logits of the prompt."""
    outs = []
    hooks = [layer.register_forward_hook(lambda _m, _i, o: outs.append((o[0] if isinstance(o, tuple) else o)[0].detach().clone()))
             for layer in model.model.layers]
    try:
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0]
    finally:
        for h in hooks:
            h.remove()
    return outs, logits


def make_golden(model_dir, ids, n, name=""):
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager").eval()
    layers, logits = layer_outputs(model, ids)
    last = logits[-1]
    top = torch.topk(last, k=min(20, last.numel()))
    greedy_ids, rows = greedy(model, ids, n, "cpu")
    margins = [float(torch.topk(r, 2).values[0] - torch.topk(r, 2).values[1]) for r in rows]
    del model

    dtype = native_dtype(model_dir)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    native = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).to(device).eval()
    native_ids, _ = greedy(native, ids, n, device)
    del native

    def summary(h):
        x = h[-1].double()
        return {"rms": math.sqrt(float((x * x).mean())), "first8": [float(v) for v in x[:8]], "sum": float(x.sum())}

    return {
        "model": name or model_dir,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "native_dtype": str(dtype).replace("torch.", ""),
        "native_device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "prompt_ids": list(ids),
        "greedy_ids": greedy_ids,
        "greedy_margins": margins,
        "last_logits_top": [[int(i), float(v)] for v, i in zip(top.values, top.indices)],
        "layers": [summary(h) for h in layers],
        "native_dtype_greedy_ids": native_ids,
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--ids", required=True, help="comma-separated prompt ids")
    p.add_argument("--new-tokens", type=int, default=16)
    p.add_argument("--out", required=True)
    p.add_argument("--name", default="")
    a = p.parse_args()
    g = make_golden(a.model, [int(t) for t in a.ids.split(",")], a.new_tokens, a.name)
    with open(a.out, "w") as f:
        json.dump(g, f, indent=1)
    same = sum(x == y for x, y in zip(g["greedy_ids"], g["native_dtype_greedy_ids"]))
    print(json.dumps({"model": g["model"], "layers": len(g["layers"]), "greedy": g["greedy_ids"],
                      "native_same": f"{same}/{len(g['greedy_ids'])}", "min_margin": min(g["greedy_margins"], default=None)}))


if __name__ == "__main__":
    main()

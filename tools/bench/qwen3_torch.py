"""HF transformers on the benchmark's checkpoint: greedy ids from the float32 forward (the truth) and the decode speed
of transformers' own generate() with bf16 weights on the GPU (the native PyTorch loop we compare with).
    python3 tools/bench/qwen3_torch.py --model DIR --prompt-len 32 --tokens 64 > torch.json
The prompt is the benchmark's: ids (i * 7919 + 13) % vocab."""
import argparse
import json
import time

import torch
from transformers import AutoModelForCausalLM


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--prompt-len", type=int, default=32)
    p.add_argument("--tokens", type=int, default=64)
    p.add_argument("--check-tokens", type=int, default=16)
    a = p.parse_args()
    dev = torch.device("cuda")
    f32 = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32).to(dev).eval()
    vocab = f32.config.vocab_size
    prompt = [(i * 7919 + 13) % vocab for i in range(a.prompt_len)]
    seq = list(prompt)
    with torch.no_grad():
        for _ in range(a.check_tokens):  # greedy by hand, no generate() masks
            seq.append(int(f32(torch.tensor([seq], device=dev)).logits[0, -1].argmax()))
    greedy = seq[len(prompt):]
    del f32
    bf16 = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.bfloat16).to(dev).eval()
    x = torch.tensor([prompt], device=dev)
    with torch.no_grad():
        bf16.generate(x, max_new_tokens=8, min_new_tokens=8, do_sample=False)  # warm-up
        torch.cuda.synchronize()
        t = time.perf_counter()
        bf16.generate(x, max_new_tokens=1, min_new_tokens=1, do_sample=False)
        torch.cuda.synchronize()
        prefill = time.perf_counter() - t
        t = time.perf_counter()
        bf16.generate(x, max_new_tokens=a.tokens, min_new_tokens=a.tokens, do_sample=False)
        torch.cuda.synchronize()
        total = time.perf_counter() - t
    print(json.dumps({
        "device": torch.cuda.get_device_name(0),
        "dtype": "bfloat16",
        "greedy_ids_f32": greedy,
        "prefill_ms": prefill * 1000,
        "decode_tok_s": (a.tokens - 1) / max(total - prefill, 1e-9),
    }))


if __name__ == "__main__":
    main()

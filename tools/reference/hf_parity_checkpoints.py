"""Writes the parity fixtures that HF transformers itself must author, each with its golden (hf_golden.py's schema):
  tiny-random/  a small random Qwen3 (GQA 2:1, head_dim 64 != hidden/heads, tied embeddings), bf16, save_pretrained
  stress/       the same architecture untied, with every 7th k_norm channel x40 in every layer and one token's
                embedding row x300 (a massive activation), in a prompt that contains that token: chosen so that HF's own
                bf16 greedy path leaves the float32 one, the failure the project exists to avoid
    python3 tools/reference/hf_parity_checkpoints.py --out DIR
Deterministic: fixed seeds, and for the stress model the first seed (from 0) whose bf16 greedy differs from float32's."""
import argparse
import json
import os

import torch
from transformers import Qwen3Config, Qwen3ForCausalLM

from hf_golden import make_golden

NEW_TOKENS = 24
STRESS_TOKEN = 7


def config(**kw):
    base = dict(vocab_size=384, hidden_size=128, intermediate_size=320, num_hidden_layers=4, num_attention_heads=4,
                num_key_value_heads=2, head_dim=64, max_position_embeddings=512, rms_norm_eps=1e-6, rope_theta=1e6,
                tie_word_embeddings=True, initializer_range=0.1, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    base.update(kw)
    return Qwen3Config(**base)


def build(cfg, seed, stress):
    torch.manual_seed(seed)
    model = Qwen3ForCausalLM(cfg).eval()
    with torch.no_grad():
        for layer in model.model.layers:
            # Qwen3's norm weights start at 1; spread them so a wrong norm weight or skipped norm shows.
            for norm in (layer.self_attn.q_norm, layer.self_attn.k_norm, layer.input_layernorm, layer.post_attention_layernorm):
                norm.weight.uniform_(0.6, 1.4)
            if stress:
                layer.self_attn.k_norm.weight[::7] *= 40
        model.model.norm.weight.uniform_(0.6, 1.4)
        if stress:
            model.model.embed_tokens.weight[STRESS_TOKEN] *= 300
    return model.to(torch.bfloat16)


def write(model, out, name, ids):
    model.save_pretrained(out)
    g = make_golden(out, ids, NEW_TOKENS, name)
    with open(os.path.join(out, "golden.json"), "w") as f:
        json.dump(g, f, indent=1)
    return g


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    a = p.parse_args()
    rng = torch.Generator().manual_seed(1234)

    cfg = config()
    ids = torch.randint(3, cfg.vocab_size, (12,), generator=rng).tolist()
    g = write(build(cfg, 0, False), os.path.join(a.out, "tiny-random"), "tiny-random (HF save_pretrained, bf16)", ids)
    print("tiny-random", json.dumps({"greedy": g["greedy_ids"], "native": g["native_dtype_greedy_ids"], "min_margin": min(g["greedy_margins"])}))

    cfg = config(vocab_size=320, hidden_size=96, intermediate_size=256, num_hidden_layers=3, num_attention_heads=3,
                 num_key_value_heads=1, head_dim=32, tie_word_embeddings=False)
    ids = torch.randint(3, cfg.vocab_size, (10,), generator=rng).tolist()
    ids[4] = STRESS_TOKEN
    for seed in range(64):
        out = os.path.join(a.out, "stress")
        g = write(build(cfg, seed, True), out, f"stress (HF save_pretrained, bf16, seed {seed})", ids)
        diverged = g["greedy_ids"] != g["native_dtype_greedy_ids"]
        print("stress seed", seed, json.dumps({"greedy": g["greedy_ids"], "native": g["native_dtype_greedy_ids"], "diverged": diverged}))
        if diverged:
            break


if __name__ == "__main__":
    main()

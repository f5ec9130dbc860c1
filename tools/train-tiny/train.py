"""Trains the repository's demonstration model: a small Qwen3ForCausalLM on Python source present on the machine
under permissive licences (the standard library, PSF; then installed distributions whose metadata declares MIT, BSD,
Apache or PSF, each listed with its licence in the report), with a byte-level BPE tokenizer trained on the same files.
Runs on the GPU machine with plain python3 (torch, transformers, tokenizers):
    python3 tools/train-tiny/train.py --out DIR [--steps 5000] [--max-seconds 330] [--corpus-mb 120] [--seed 0]
Writes DIR/{config.json, generation_config.json, model.safetensors (bf16), tokenizer.json, tokenizer_config.json,
train_report.json}. Reproducible: sorted file list, fixed seeds; the report records the files' digest, the steps run
(a run cut short by --max-seconds says so; rerun with --steps set to that count) and the held-out loss.
Held out: every 50th file of the sorted list, never trained on."""
import argparse
import glob
import hashlib
import importlib.metadata
import json
import math
import os
import re
import sysconfig
import time

import torch
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GenerationConfig, Qwen3Config, Qwen3ForCausalLM

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
ARCH = dict(vocab_size=8192, hidden_size=256, intermediate_size=768, num_hidden_layers=6, num_attention_heads=4,
            num_key_value_heads=2, head_dim=64, max_position_embeddings=2048, rms_norm_eps=1e-6, rope_theta=10000.0,
            tie_word_embeddings=True, initializer_range=0.02)


PERMISSIVE = re.compile(r"\b(MIT|BSD|Apache|PSF|Python Software Foundation|ISC|Unlicense)\b", re.I)
COPYLEFT = re.compile(r"GPL|MPL|EUPL|CDDL|proprietary|commercial|other", re.I)


def license_of(dist):
    """The distribution's licence when its metadata declares a permissive one (SPDX expression, licence classifiers,
    or a short License field), else None."""
    m = dist.metadata
    declared = [m.get("License-Expression") or ""] + [c for c in (m.get_all("Classifier") or []) if c.startswith("License ::")]
    short = m.get("License") or ""
    if len(short) < 80:
        declared.append(short)
    text = " | ".join(d for d in declared if d)
    return text if PERMISSIVE.search(text) and not COPYLEFT.search(text) else None


def corpus(max_mb, per_dist_mb):
    """The standard library's .py files, then those of every installed distribution with a permissive licence (at
    most per_dist_mb each, files over 256 KB skipped, exact duplicates dropped), sorted, up to max_mb in all."""
    root = sysconfig.get_paths()["stdlib"]
    sources = [("python-stdlib", "PSF-2.0", sorted(p for p in glob.glob(os.path.join(root, "**", "*.py"), recursive=True) if "site-packages" not in p))]
    seen_names = set()
    for dist in sorted(importlib.metadata.distributions(), key=lambda d: (d.metadata.get("Name") or "").lower()):
        name = (dist.metadata.get("Name") or "").lower()
        lic = license_of(dist)
        if not name or name in seen_names or lic is None:
            continue
        seen_names.add(name)
        sources.append((name, lic, sorted(str(dist.locate_file(f)) for f in (dist.files or []) if str(f).endswith(".py"))))
    texts, names, used, seen, total = [], [], [], set(), 0
    for name, lic, files in sources:
        taken = 0
        for p in files:
            try:
                if os.path.getsize(p) > 256_000:
                    continue
                with open(p, encoding="utf-8") as f:
                    t = f.read()
            except (UnicodeDecodeError, OSError):
                continue
            h = hashlib.sha256(t.encode()).digest()
            if h in seen or not t.strip():
                continue
            if taken + len(t) > per_dist_mb * 1e6 or total + len(t) > max_mb * 1e6:
                break
            seen.add(h)
            texts.append(t)
            names.append(f"{name}:{p}")
            taken += len(t)
            total += len(t)
        if taken:
            used.append({"name": name, "license": lic, "megabytes": round(taken / 1e6, 2)})
    digest = hashlib.sha256("\n".join(f"{n}:{len(t)}" for n, t in zip(names, texts)).encode()).hexdigest()
    train = [t for i, t in enumerate(texts) if i % 50 != 0]
    held = [t for i, t in enumerate(texts) if i % 50 == 0]
    return root, names, used, digest, train, held


def train_tokenizer(texts, out):
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=ARCH["vocab_size"], special_tokens=SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tk.train_from_iterator(texts[::max(1, len(texts) // 4000)], trainer)  # a fixed sample of files keeps this fast
    tk.save(os.path.join(out, "tokenizer.json"))
    added = {str(tk.token_to_id(s)): {"content": s, "lstrip": False, "normalized": False, "rstrip": False,
                                      "single_word": False, "special": True} for s in SPECIALS}
    cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "add_bos_token": False, "bos_token": None,
           "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>", "unk_token": None,
           "additional_special_tokens": SPECIALS[1:], "added_tokens_decoder": added, "model_max_length": ARCH["max_position_embeddings"],
           "clean_up_tokenization_spaces": False, "chat_template": CHAT_TEMPLATE}
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    return tk


def stream(tk, texts):
    eot = tk.token_to_id("<|endoftext|>")
    ids = []
    for enc in tk.encode_batch(texts):
        ids.extend(enc.ids)
        ids.append(eot)
    return torch.tensor(ids, dtype=torch.long)


@torch.no_grad()
def held_out_loss(model, data, seq, device, max_windows=256):
    model.eval()
    n = min(max_windows, (len(data) - 1) // seq)
    total = 0.0
    for i in range(0, n, 32):
        batch = torch.stack([data[j * seq:(j + 1) * seq + 1] for j in range(i, min(n, i + 32))]).to(device)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device == "cuda"):
            logits = model(batch[:, :-1]).logits.float()
        total += float(torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1), reduction="sum"))
    model.train()
    return total / (n * seq)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--max-seconds", type=float, default=330)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seq", type=int, default=512)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--corpus-mb", type=float, default=120)
    p.add_argument("--per-dist-mb", type=float, default=4)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(a.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    t0 = time.time()
    root, names, used, digest, train_texts, held_texts = corpus(a.corpus_mb, a.per_dist_mb)
    tk = train_tokenizer(train_texts, a.out)
    train, held = stream(tk, train_texts), stream(tk, held_texts)
    print(f"corpus: {len(names)} files from {len(used)} sources (digest {digest[:12]}), train {len(train)} tokens, held out {len(held)}; "
          f"tokenizer {time.time() - t0:.0f} s", flush=True)

    eot = tk.token_to_id("<|endoftext|>")
    cfg = Qwen3Config(**ARCH, bos_token_id=eot, eos_token_id=eot, pad_token_id=eot)
    model = Qwen3ForCausalLM(cfg).to(device)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.95), weight_decay=0.1)
    warmup = max(1, a.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1, (s + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1, s / a.steps)))))
    gen = torch.Generator().manual_seed(a.seed)
    start, steps_done, stopped_early = time.time(), 0, False
    model.train()
    for step in range(a.steps):
        if time.time() - start > a.max_seconds:
            stopped_early = True
            break
        idx = torch.randint(0, len(train) - a.seq - 1, (a.batch,), generator=gen)
        batch = torch.stack([train[i:i + a.seq + 1] for i in idx.tolist()]).to(device)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device == "cuda"):
            logits = model(batch[:, :-1]).logits.float()
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        steps_done = step + 1
        if step % 500 == 0:
            print(f"step {step} loss {loss.item():.3f} {time.time() - start:.0f} s", flush=True)
        if step % 2000 == 1999:
            print(f"step {step + 1} held-out loss {held_out_loss(model, held, a.seq, device, 64):.3f}", flush=True)
    train_s = time.time() - start

    model = model.to(torch.bfloat16)  # the shipped weights; the held-out figure is measured on exactly these
    model.generation_config = GenerationConfig(bos_token_id=eot, eos_token_id=eot, pad_token_id=eot, do_sample=True,
                                               temperature=0.7, top_k=40, top_p=0.95, max_new_tokens=256)
    model.save_pretrained(a.out)
    loss = held_out_loss(model.float(), held, a.seq, device)
    prompt = torch.tensor([tk.encode("def ").ids], device=device)
    sample = tk.decode(model.generate(prompt, do_sample=False, max_new_tokens=64)[0].tolist())
    report = {"transformers": transformers.__version__, "torch": torch.__version__, "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
              "stdlib": root, "sources": used, "files": len(names), "files_digest": digest, "held_out_files": len(held_texts),
              "train_tokens": len(train), "held_out_tokens": len(held), "parameters": params, "arch": ARCH,
              "seed": a.seed, "steps": steps_done, "steps_requested": a.steps, "stopped_early": stopped_early,
              "batch": a.batch, "seq": a.seq, "lr": a.lr, "train_seconds": round(train_s, 1),
              "held_out_loss": round(loss, 4), "held_out_perplexity": round(math.exp(loss), 2), "greedy_sample": sample}
    with open(os.path.join(a.out, "train_report.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps({k: v for k, v in report.items() if k not in ("arch", "sources")}, indent=1))
    print("sources:", ", ".join(f"{u['name']} ({u['megabytes']} MB)" for u in used))


if __name__ == "__main__":
    main()

"""Checks that checkpoints written by @qwen3-webgpu/weights load in Python: every .safetensors file through
safetensors (numpy and torch), and each directory through transformers' Qwen3ForCausalLM with a short forward pass.
    python3 tools/reference/check_safetensors.py DIR [DIR ...]
Prints one line per directory and exits non-zero on any failure."""
import glob
import json
import os
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModelForCausalLM


def check(directory):
    files = sorted(glob.glob(os.path.join(directory, "*.safetensors")))
    tensors = {}
    for f in files:
        with safe_open(f, framework="pt") as h:
            meta = h.metadata()
            for name in h.keys():
                tensors[name] = h.get_tensor(name)
        load_file(f)  # the whole-file path too
    dtypes = sorted({str(t.dtype).replace("torch.", "") for t in tensors.values()})
    config = AutoConfig.from_pretrained(directory)
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32)
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        logits = model(ids).logits
    finite = bool(torch.isfinite(logits).all())
    print(json.dumps({
        "dir": os.path.basename(directory.rstrip("/")),
        "files": len(files),
        "tensors": len(tensors),
        "dtypes": dtypes,
        "metadata": meta,
        "model_type": config.model_type,
        "transformers_logits_shape": list(logits.shape),
        "finite": finite,
    }))
    return finite


ok = all([check(d) for d in sys.argv[1:]])
sys.exit(0 if ok else 1)

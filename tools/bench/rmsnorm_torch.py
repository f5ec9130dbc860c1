"""Times HF transformers' Qwen3RMSNorm (torch eager, bf16 input) and torch.nn.functional.rms_norm on the shapes of
@qwen3-webgpu/rmsnorm-f32's benchmark. Prints one JSON object: {"device": ..., "results": [{rows, hf_ms, f_ms}]}.
Run on the GPU machine:  python3 tools/bench/rmsnorm_torch.py [--hidden 1024] [--rows 1,512,4096,32768]"""
import argparse
import json

import torch
from transformers.models.qwen3.modeling_qwen3 import Qwen3RMSNorm


def time_ms(fn, iters=200, warmup=20):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--rows", default="1,512,4096,32768")
    p.add_argument("--eps", type=float, default=1e-6)
    a = p.parse_args()
    torch.manual_seed(0)
    dev = torch.device("cuda")
    norm = Qwen3RMSNorm(a.hidden, eps=a.eps).to(dev, torch.bfloat16)
    with torch.no_grad():
        norm.weight.copy_(torch.randn(a.hidden) * 0.1 + 1)
    results = []
    with torch.no_grad():
        for rows in [int(r) for r in a.rows.split(",")]:
            x = torch.randn(rows, a.hidden, device=dev, dtype=torch.bfloat16)
            hf = time_ms(lambda: norm(x))
            f = time_ms(lambda: torch.nn.functional.rms_norm(x, (a.hidden,), norm.weight, a.eps))
            results.append({"rows": rows, "hf_ms": hf, "f_ms": f})
    print(json.dumps({"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "results": results}))


if __name__ == "__main__":
    main()

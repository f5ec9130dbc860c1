"""What HF transformers makes of a tokenizer directory: apply_chat_template renderings (with and without Qwen3's
thinking switch) and token ids of a few strings. apps/generate's tests check @huggingface/tokenizers and
@huggingface/jinja against this file.
    python3 tools/reference/hf_chat_fixtures.py --tokenizer DIR --out FILE.json"""
import argparse
import json

import transformers
from transformers import AutoTokenizer

CONVERSATIONS = {
    "system-user-assistant": [
        {"role": "system", "content": "You are a concise assistant."},
        {"role": "user", "content": "Name a prime number."},
        {"role": "assistant", "content": "<think>\nTwo is the smallest.\n</think>\n\n2 is prime."},
    ],
    "user-assistant-user": [
        {"role": "user", "content": "Hello! 你好"},
        {"role": "assistant", "content": "Hi there."},
        {"role": "user", "content": "Write def add(a, b): in Python 🐍"},
    ],
}

STRINGS = [
    "Hello, world! The quick brown fox jumps over 13 lazy dogs.",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
    "你好，世界。日本語のテキストも。",
    "emoji: 🙂👍🏽🇯🇵 and é, ñ, ß",
    "<|im_start|>user\nhi<|im_end|>\n",
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tokenizer", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    tok = AutoTokenizer.from_pretrained(a.tokenizer)
    chats = []
    for name, messages in CONVERSATIONS.items():
        for no_think in (False, True):
            kwargs = {"enable_thinking": False} if no_think else {}
            text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **kwargs)
            chats.append({"name": name, "no_think": no_think, "messages": messages, "text": text,
                          "ids": tok(text, add_special_tokens=False)["input_ids"]})
    strings = [{"text": s, "ids": tok(s, add_special_tokens=False)["input_ids"]} for s in STRINGS]
    out = {"transformers": transformers.__version__, "tokenizer": type(tok).__name__, "chats": chats, "strings": strings}
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
    print(f"{a.out}: {len(chats)} chat renderings, {len(strings)} strings")


if __name__ == "__main__":
    main()

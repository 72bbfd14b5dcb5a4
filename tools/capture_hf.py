#!/usr/bin/env python3
"""Capture post-RoPE Q/K/V of a Hugging Face transformers model as a Sparsescope capture.

Runs where the model is (a GPU box); writes one safetensors file in the format of the
Sparsescope spec, section 3.1:
  layers.{L}.q [H, N, D], layers.{L}.k [Hkv, N, D], layers.{L}.v [Hkv, N, D]
  __metadata__: format=sparsescope.capture/1, model, num_layers, num_heads, num_kv_heads,
                head_dim, seq_len, rope_applied=true, source, tokenizer
  tokens.ids [N] I32, tokens.text_offsets [N+1] I32, tokens.text_bytes [T] U8: the prompt's
  token ids and each token's decoded text (UTF-8, concatenated; token i is
  text_bytes[text_offsets[i]:text_offsets[i+1]]), so the views can name the tokens

How: the model's attention function is swapped for a thin wrapper (transformers'
AttentionInterface; transformers >= 4.53). Every attention layer calls it with the query and key
after RoPE and the key/value before GQA expansion, which is exactly what a capture holds; the
wrapper copies them for the chosen layers and then runs the usual SDPA attention. The forward
pass stops after the last chosen layer, so later layers cost nothing.

Works for models whose attention goes through that interface (Llama, Mistral, Qwen2/2.5/3, Phi-3,
Gemma, GLM-4 in transformers, ...). Models with their own remote code (trust_remote_code) that
bypass it are not supported.

Example:
  python tools/capture_hf.py --model gradientai/Llama-3-8B-Instruct-Gradient-1048k \\
      --prompt-file book.txt --max-tokens 131072 --layers 0-3,16 --out llama-128k.safetensors
  npx sparsescope info llama-128k.safetensors

Needs: torch, transformers >= 4.53, safetensors (tools/requirements-capture.txt). Memory: each captured layer holds
(H + 2 Hkv) * N * D values on the CPU until the file is written.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

CAPTURE_FORMAT = "sparsescope.capture/1"
ATTENTION_NAME = "sparsescope_capture"
DTYPES = {"bf16": "bfloat16", "f16": "float16", "f32": "float32"}


def parse_layers(text: str, num_layers: int) -> list[int]:
    """'0-3,16' -> [0, 1, 2, 3, 16]; 'all' -> every layer. Raises ValueError naming the problem."""
    if text == "all":
        return list(range(num_layers))
    layers: set[int] = set()
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            raise ValueError(f"--layers: {part!r} is not a layer or a range A-B")
        start, end = int(first), int(last or first)
        if end < start or end >= num_layers:
            raise ValueError(f"--layers: {part!r} is outside 0..{num_layers - 1}")
        layers.update(range(start, end + 1))
    return sorted(layers)


def build_metadata(
    model: str, num_layers: int, num_heads: int, num_kv_heads: int, head_dim: int, seq_len: int, source: str, tokenizer: str | None = None
) -> dict[str, str]:
    """The capture's __metadata__ (safetensors metadata values are strings)."""
    if num_heads % num_kv_heads != 0:
        raise ValueError(f"num_heads {num_heads} is not a multiple of num_kv_heads {num_kv_heads}")
    extra = {"tokenizer": tokenizer} if tokenizer else {}
    return {
        "format": CAPTURE_FORMAT,
        "model": model,
        "num_layers": str(num_layers),
        "num_heads": str(num_heads),
        "num_kv_heads": str(num_kv_heads),
        "head_dim": str(head_dim),
        "seq_len": str(seq_len),
        "rope_applied": "true",
        "source": source,
        **extra,
    }


# Each token's text is decoded with this many tokens of left context, so that tokenizers which
# drop a word's leading space when it is decoded alone (SentencePiece) keep it.
TOKEN_CONTEXT = 8


def common_prefix_length(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def token_pieces(ids: list[int], decode_batch) -> list[str]:
    """Each token's own text: decode(context + token) minus decode(context), by common prefix.

    A byte split across tokens decodes to U+FFFD in the first and the whole character in the
    next, so the common prefix (not the length) decides where a token's text starts.
    """
    starts = [max(0, i - TOKEN_CONTEXT) for i in range(len(ids))]
    before = decode_batch([ids[s:i] for i, s in enumerate(starts)])
    after = decode_batch([ids[s : i + 1] for i, s in enumerate(starts)])
    return [full[common_prefix_length(head, full) :] for head, full in zip(before, after)]


def token_arrays(ids: list[int], pieces: list[str]) -> tuple[list[int], list[int], bytes]:
    """(ids, text_offsets, text_bytes) of the token tensors."""
    if len(ids) != len(pieces):
        raise ValueError(f"{len(ids)} token ids but {len(pieces)} token texts")
    encoded = [piece.encode("utf-8") for piece in pieces]
    offsets = [0]
    for piece in encoded:
        offsets.append(offsets[-1] + len(piece))
    return list(ids), offsets, b"".join(encoded)


def model_label(model: str) -> str:
    """A hub id as given; a local folder by its name (its path says nothing on another machine)."""
    path = Path(model)
    return path.resolve().name if path.is_dir() else model


def prompt_text(args: argparse.Namespace) -> str:
    """The prompt: --text as given, or the UTF-8 file --prompt-file."""
    if args.text is not None:
        return args.text
    return Path(args.prompt_file).read_text(encoding="utf-8")


class _StopForward(Exception):
    """Raised inside the model once the last chosen layer is captured."""


MIN_TRANSFORMERS = (4, 53)


def _check_transformers_version(version: str) -> None:
    # From 4.53 a custom attention name gets no materialised mask (SDPA runs causal); older
    # versions would build an N x N mask, hopeless at long context.
    major, minor = (int(part) for part in version.split(".")[:2])
    if (major, minor) < MIN_TRANSFORMERS:
        raise ValueError(f"transformers {version} is too old: this helper needs >= {MIN_TRANSFORMERS[0]}.{MIN_TRANSFORMERS[1]}")


def capture(args: argparse.Namespace) -> None:
    import torch
    import transformers
    from safetensors.torch import save_file
    from transformers import AttentionInterface, AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    _check_transformers_version(transformers.__version__)
    text = prompt_text(args)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    input_ids = tokenizer(text, return_tensors="pt").input_ids[:, : args.max_tokens]
    seq_len = input_ids.shape[1]
    if seq_len == 0:
        raise ValueError("the prompt has no tokens")
    num_layers = AutoConfig.from_pretrained(args.model).num_hidden_layers
    layers = parse_layers(args.layers, num_layers)
    out_dtype = getattr(torch, DTYPES[args.dtype])
    tensors: dict[str, torch.Tensor] = {}
    shapes: dict[str, int] = {}

    def capturing_attention(module, query, key, value, attention_mask, **kwargs):
        # query [B, H, N, D], key/value [B, Hkv, N, D]: post-RoPE, before GQA expansion.
        layer = getattr(module, "layer_idx", None)
        if layer is None:
            raise ValueError("attention module has no layer_idx; this model is not supported")
        if layer in layers:
            for kind, tensor in (("q", query), ("k", key), ("v", value)):
                tensors[f"layers.{layer}.{kind}"] = tensor[0].to(out_dtype).contiguous().cpu()
            shapes.update(num_heads=query.shape[1], num_kv_heads=key.shape[1], head_dim=query.shape[-1])
            if layer == layers[-1]:
                raise _StopForward
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)

    AttentionInterface.register(ATTENTION_NAME, capturing_attention)
    model = AutoModelForCausalLM.from_pretrained(args.model, torch_dtype="auto", device_map=args.device, attn_implementation=ATTENTION_NAME)
    with torch.inference_mode():
        try:
            model(input_ids.to(model.device), use_cache=False)
        except _StopForward:
            pass
    missing = [layer for layer in layers if f"layers.{layer}.q" not in tensors]
    if missing:
        raise ValueError(f"layers {missing} were never reached; does this model use transformers' attention interface?")

    ids = input_ids[0].tolist()

    def decode_batch(batch: list[list[int]]) -> list[str]:
        return tokenizer.batch_decode(batch, skip_special_tokens=False, clean_up_tokenization_spaces=False)

    token_ids, offsets, text_bytes = token_arrays(ids, token_pieces(ids, decode_batch))
    tensors["tokens.ids"] = torch.tensor(token_ids, dtype=torch.int32)
    tensors["tokens.text_offsets"] = torch.tensor(offsets, dtype=torch.int32)
    tensors["tokens.text_bytes"] = torch.frombuffer(bytearray(text_bytes), dtype=torch.uint8) if text_bytes else torch.zeros(0, dtype=torch.uint8)

    origin = Path(args.prompt_file).name if args.prompt_file else "text given with --text"
    source = args.source or f"{origin}: first {seq_len} tokens"
    model_name = model_label(args.model)
    metadata = build_metadata(model_name, num_layers, shapes["num_heads"], shapes["num_kv_heads"], shapes["head_dim"], seq_len, source, tokenizer=model_name)
    metadata["captured_with"] = f"tools/capture_hf.py, torch {torch.__version__}, transformers {transformers.__version__}, {time.strftime('%Y-%m-%d')}"
    save_file(tensors, args.out, metadata=metadata)
    print(f"wrote {args.out}: layers {layers}, {seq_len} tokens, H={shapes['num_heads']} Hkv={shapes['num_kv_heads']} D={shapes['head_dim']} {args.dtype}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Capture post-RoPE Q/K/V of a transformers model for Sparsescope.")
    parser.add_argument("--model", required=True, help="model id or local folder")
    prompt = parser.add_mutually_exclusive_group(required=True)
    prompt.add_argument("--prompt-file", help="UTF-8 text file whose tokens are the prompt")
    prompt.add_argument("--text", help="the prompt itself, as a string")
    parser.add_argument("--max-tokens", type=int, default=32768, help="truncate the prompt to this many tokens (default 32768)")
    parser.add_argument("--layers", default="0", help="layers to capture, e.g. 0-3,16 or all (default 0)")
    parser.add_argument("--out", required=True, help="output .safetensors file")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="bf16", help="stored dtype (default bf16)")
    parser.add_argument("--device", default="auto", help="device_map for from_pretrained (default auto)")
    parser.add_argument("--source", default="", help="what the prompt was (stored in the capture)")
    args = parser.parse_args(argv)
    if args.max_tokens < 1:
        parser.error("--max-tokens must be positive")
    try:
        capture(args)
    except (ValueError, OSError) as error:
        print(f"capture_hf: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""GPU-side check of tools/capture_hf.py against an independent reference (part of npm run test:gpu).

The reference never goes through the attention interface the helper hooks: it runs the model
with eager attention, takes each layer's input hidden state, and recomputes post-RoPE q, k, v
from the layer's own weights (RMSNorm, projections, rotary embedding written out from the
config's rope_theta). Checked: every captured layer of
  - the trained model (ref-byte-llama, bf16 weights, run in fp32), and
  - a random 3-layer GQA Llama with head dim 96 (RoPE theta 10000),
plus the token tensors (ids equal the tokenizer's, texts concatenate back to an ASCII prompt).

Usage: python3 tools/capture_check.py [--model DIR]  (default: $SPARSESCOPE_REF_MODEL, else
.dev/ref-byte-llama). Last line: "N passed, N failed".
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import capture_hf  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# max |capture - reference| / max |reference|, fp32 both sides; the rest is fp32 rounding of the
# rotary angles (position x frequency), about 1e-5 at these lengths.
TOLERANCE = 5e-4
PROMPT = (
    "/* Open a database connection; the filename is UTF-8. A new handle is returned even on error. */\n"
    "SQLITE_API int sqlite3_open_v2(const char *filename, sqlite3 **ppDb, int flags, const char *zVfs);\n"
) * 4

results = {"passed": 0, "failed": 0}


def check(name: str, ok: bool, detail: str = "") -> None:
    results["passed" if ok else "failed"] += 1
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'  ' + detail if detail else ''}", flush=True)


def find_model(given: str | None) -> Path | None:
    candidates = [given, os.environ.get("SPARSESCOPE_REF_MODEL"), ROOT / ".dev/ref-byte-llama"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "config.json").exists():
            return Path(candidate)
    return None


def rotary(x, positions, theta: float):
    """Rotate-half RoPE on [heads, N, D] from its definition: pairs (i, i + D/2) turn by pos * theta^(-2i/D)."""
    import torch

    dim = x.shape[-1]
    inv_freq = theta ** (-torch.arange(0, dim, 2, dtype=torch.float64, device=x.device) / dim)
    angles = positions.double()[:, None] * inv_freq[None, :]
    cos, sin = torch.cos(angles).float(), torch.sin(angles).float()
    first, second = x[..., : dim // 2], x[..., dim // 2 :]
    return torch.cat([first * cos - second * sin, second * cos + first * sin], dim=-1)


def reference_qkv(model, input_ids):
    """{layer: (q [H,N,D], k [Hkv,N,D], v [Hkv,N,D])} recomputed from eager hidden states."""
    import torch

    config = model.config
    theta = float((getattr(config, "rope_parameters", None) or {}).get("rope_theta", getattr(config, "rope_theta", 10000.0)))
    heads, kv_heads = config.num_attention_heads, config.num_key_value_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    with torch.inference_mode():
        hidden = model(input_ids, output_hidden_states=True, use_cache=False).hidden_states
    positions = torch.arange(input_ids.shape[1], device=input_ids.device)
    out = {}
    for index, layer in enumerate(model.model.layers):
        attention = layer.self_attn
        h = hidden[index][0].float()
        norm = layer.input_layernorm
        x = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + norm.variance_epsilon) * norm.weight.float()
        project = lambda linear, count: (x @ linear.weight.float().T).view(-1, count, head_dim).transpose(0, 1)  # noqa: E731
        q = rotary(project(attention.q_proj, heads), positions, theta)
        k = rotary(project(attention.k_proj, kv_heads), positions, theta)
        out[index] = (q, k, project(attention.v_proj, kv_heads))
    return out


def compare_capture(name: str, model_dir: Path, capture_path: Path, text: str) -> None:
    import torch
    from safetensors import safe_open
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager").cuda().eval()
    input_ids = tokenizer(text, return_tensors="pt").input_ids.cuda()
    reference = reference_qkv(model, input_ids)
    with safe_open(str(capture_path), framework="pt") as capture:
        meta = capture.metadata()
        check(f"{name}: metadata shapes", int(meta["seq_len"]) == input_ids.shape[1] and int(meta["num_layers"]) == len(reference), str(meta))
        for layer, tensors in reference.items():
            for kind, expected in zip("qkv", tensors):
                got = capture.get_tensor(f"layers.{layer}.{kind}").float().cuda()
                same_shape = tuple(got.shape) == tuple(expected.shape)
                error = ((got - expected).abs().max() / expected.abs().max()).item() if same_shape else float("inf")
                check(f"{name}: layer {layer} {kind} {tuple(got.shape)} vs reference", error <= TOLERANCE, f"rel err {error:.2e}")
        ids = capture.get_tensor("tokens.ids")
        check(f"{name}: tokens.ids equal the tokenizer's", ids.tolist() == input_ids[0].tolist())
        offsets = capture.get_tensor("tokens.text_offsets").tolist()
        text_bytes = bytes(capture.get_tensor("tokens.text_bytes").tolist())
        pieces = [text_bytes[a:b].decode("utf-8") for a, b in zip(offsets, offsets[1:])]
        check(f"{name}: token texts concatenate to the prompt", "".join(pieces) == text, repr(pieces[:8]))


def save_with_tokenizer(model, tokenizer_dir: Path, into: Path) -> Path:
    """Save an fp32 model (so the helper, which keeps the model's dtype, runs in fp32) with a tokenizer."""
    model.float().save_pretrained(into)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tokenizer_dir / name, into / name)
    return into


def fp32_copy(model_dir: Path, into: Path) -> Path:
    import torch
    from transformers import AutoModelForCausalLM

    return save_with_tokenizer(AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32), model_dir, into)


def random_model(model_dir: Path, into: Path) -> Path:
    """A random 3-layer GQA Llama with head dim 96, with the trained model's tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=256, hidden_size=384, intermediate_size=512, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=96, rope_theta=10000.0)
    return save_with_tokenizer(LlamaForCausalLM(config), model_dir, into)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a Llama folder with a byte-level tokenizer (ref-byte-llama)")
    args = parser.parse_args(argv)
    model_dir = find_model(args.model)
    if model_dir is None:
        print("FAIL capture check: no ref-byte-llama folder (set SPARSESCOPE_REF_MODEL); nothing checked")
        print("0 passed, 1 failed")
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        cases = [
            ("ref-byte-llama", fp32_copy(model_dir, Path(scratch) / "trained")),
            ("random GQA Llama D=96", random_model(model_dir, Path(scratch) / "random")),
        ]
        for name, directory in cases:
            out = Path(scratch) / f"{name.split()[0]}.safetensors"
            status = capture_hf.main(["--model", str(directory), "--text", PROMPT, "--layers", "all", "--dtype", "f32", "--device", "cuda", "--out", str(out)])
            check(f"{name}: capture_hf exits 0", status == 0)
            try:
                if status == 0:
                    compare_capture(name, directory, out, PROMPT)
            except Exception as error:  # a crash in one case is a failure, the other still runs
                check(f"{name}: comparison ran", False, repr(error))
    print(f"{results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

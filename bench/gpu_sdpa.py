"""PyTorch SDPA baselines for bench/gpu.sh: causal bf16 attention, H=32, Hkv=8 (K/V expanded to
H heads, untimed), D=128, timed with CUDA events after warm-up, median of repeats, per backend
(flash, cuDNN; SDPA_BACKENDS=sdpa_cudnn picks some). Prints one JSON object per line: {"backend", "seqLen", "ms", "tflops"} (or "error"
instead of "ms" and "tflops"), after a first line {"meta": {...}} with the library versions."""
import json
import os
import sys

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from cuda_timing import median_ms

HEADS, KV_HEADS, HEAD_DIM = 32, 8, 128
BACKENDS = {"sdpa_flash": SDPBackend.FLASH_ATTENTION, "sdpa_cudnn": SDPBackend.CUDNN_ATTENTION}


def main():
    seq_lens = [int(n) for n in os.environ.get("SEQ_LENS", "32768,131072").split(",")]
    repeats = int(os.environ.get("REPEATS", "5"))
    meta = {"torch": torch.__version__, "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version()}
    try:
        import triton

        meta["triton"] = triton.__version__
    except ImportError:
        pass
    print(json.dumps({"meta": meta}), flush=True)
    torch.manual_seed(0)
    for seq_len in seq_lens:
        q = torch.randn(1, HEADS, seq_len, HEAD_DIM, device="cuda", dtype=torch.bfloat16)
        k = torch.randn(1, KV_HEADS, seq_len, HEAD_DIM, device="cuda", dtype=torch.bfloat16)
        v = torch.randn(1, KV_HEADS, seq_len, HEAD_DIM, device="cuda", dtype=torch.bfloat16)
        k, v = (t.repeat_interleave(HEADS // KV_HEADS, dim=1).contiguous() for t in (k, v))
        flops = 4 * HEADS * HEAD_DIM * seq_len * (seq_len + 1) / 2
        chosen = os.environ.get("SDPA_BACKENDS", ",".join(BACKENDS)).split(",")
        for name, backend in ((name, BACKENDS[name]) for name in chosen):
            try:
                with sdpa_kernel(backend):
                    ms, _ = median_ms(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True), repeats)
                print(json.dumps({"backend": name, "seqLen": seq_len, "ms": ms, "tflops": flops / ms / 1e9}), flush=True)
            except RuntimeError as error:  # a backend the card or build lacks
                print(json.dumps({"backend": name, "seqLen": seq_len, "error": str(error).splitlines()[0]}), flush=True)
        del q, k, v
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())

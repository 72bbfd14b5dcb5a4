#!/usr/bin/env python3
"""NumPy/BLAS reference for `npm run bench`: dense causal attention with GQA, fp32.

Reads raw little-endian float32 q [H, N, D], k and v [Hkv, N, D] from DIR/q.f32, k.f32, v.f32,
runs `repeat` timed passes after one warm-up (row chunks of CHUNK queries, each a BLAS sgemm
against the causal prefix of the keys, never N x N in memory), writes the output to DIR/out.f32
and prints one JSON line: {"ms": median, "times": [...], "blas": which BLAS, "numpy": version}.
Needs python3-numpy (Debian: apt-get install -y python3-numpy).
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np

CHUNK = 512


def causal_attention(q, k, v, group):
    heads, n, dim = q.shape
    scale = np.float32(1.0 / np.sqrt(dim))
    out = np.empty_like(q)
    for h in range(heads):
        kh, vh = k[h // group], v[h // group]
        for start in range(0, n, CHUNK):
            end = min(n, start + CHUNK)
            scores = (q[h, start:end] @ kh[:end].T) * scale  # [rows, end]
            rows = np.arange(start, end)[:, None]
            scores[np.arange(end)[None, :] > rows] = -np.inf
            scores -= scores.max(axis=1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=1, keepdims=True)
            out[h, start:end] = scores @ vh[:end]
    return out


def blas_name():
    """The BLAS NumPy was built against, e.g. "scipy-openblas 0.3.31" (NumPy >= 1.26 records it)."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas['name']} {blas.get('version', '')}".strip()
    except Exception:
        return "unknown BLAS"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--heads", type=int, required=True)
    parser.add_argument("--kv-heads", type=int, required=True)
    parser.add_argument("--seq", type=int, required=True)
    parser.add_argument("--dim", type=int, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.heads % args.kv_heads:
        sys.exit(f"numpy_dense: heads {args.heads} is not a multiple of kv heads {args.kv_heads}")

    def load(name, heads):
        data = np.fromfile(f"{args.dir}/{name}.f32", dtype="<f4")
        expected = heads * args.seq * args.dim
        if data.size != expected:
            sys.exit(f"numpy_dense: {name}.f32 holds {data.size} floats, expected {expected}")
        return data.reshape(heads, args.seq, args.dim)

    q, k, v = load("q", args.heads), load("k", args.kv_heads), load("v", args.kv_heads)
    group = args.heads // args.kv_heads
    out = causal_attention(q, k, v, group)  # warm-up
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        out = causal_attention(q, k, v, group)
        times.append((time.perf_counter() - start) * 1000)
    out.astype("<f4").tofile(f"{args.dir}/out.f32")
    print(json.dumps({"ms": statistics.median(times), "times": times, "blas": blas_name(), "numpy": np.__version__}))


if __name__ == "__main__":
    main()

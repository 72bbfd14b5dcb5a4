"""Same-call comparison with MInference's Triton Vertical-Slash kernel (a step of bench/gpu.sh).

Reads what bench/gpu.js exported through bench/gpu_band_export.js: the layer's q/k/v (raw bf16,
[H, N, D] and [Hkv, N, D]), the vertical columns and diagonal offsets of the index (the same for
every head), our index of head 0, our kernel's output on sampled rows and its time. Then:

1. builds MInference's index (block_count, block_offset, column_count, column_index) from those
   verticals and offsets. MInference converts them with a CUDA extension of its own
   (convert_vertical_slash_indexes in csrc/vertical_slash_index.cu) that has to be compiled; this
   script instead builds the same four tensors with NumPy, following that function's documented
   semantics (below), and checks them against our index, block by block;
2. times MInference's `_triton_mixed_sparse_attention` (minference/ops/pit_sparse_flash_attention_v2.py,
   loaded from the checkout named by --minference / MINFERENCE_DIR) on the same q/k/v and that
   index: CUDA events, one warm-up (which compiles the kernel), median of the repeats. K and V are
   expanded to H heads beforehand (the kernel has no GQA), untimed, as for the SDPA baselines;
3. compares its output with ours and with a float64 reference of the same index on the sampled
   rows.

Writes one JSON object to --out ({"ok": false, "error": ...} when something fails, exit 1).

  python3 bench/gpu_minference.py --inputs DIR --out FILE [--minference DIR] [--repeats 5]

The conversion's semantics, per head and query block m (rows [64m, 64m + 64), end = 64m + 64, not
clipped to N): each diagonal offset s < end gives a window w = max(end - s, 64); taken in
ascending w, the first opens the key range [w - 64, w); a later w inside the range changes
nothing, one at most 64 past its end extends it by one 64-key tile, one further away closes it and
opens [w - 64, w). Every range is split into 64-key tiles (block_offset holds their starts). A
vertical column below the last range's end and inside no range is a loose column (column_index,
ascending); the rest are dropped. The kernel masks j > i inside tiles only.
"""
import argparse
import contextlib
import importlib.util
import json
import math
import os
import sys
import time
import types

try:
    import numpy as np
    import torch

    from cuda_timing import median_ms
except ImportError as missing:  # reported in the JSON like any other failure
    MISSING = missing
else:
    MISSING = None

BLOCK = 64
# Largest accepted error of one sampled row's output, |x - y| / |y| (L2 over the head dim); bf16
# rounding of scores, probabilities and (MInference) the output gives a few 1e-3.
ROW_TOLERANCE = 2e-2


def load_minference_kernel(root):
    """MInference's `_triton_mixed_sparse_attention`, executing only its kernel file.

    The package's __init__ imports its model patches (transformers and more) and the ops module
    imports the compiled index extension `minference.cuda`; bare parent packages and a stand-in
    for the extension are registered first, so only pit_sparse_flash_attention_v2.py runs."""
    path = os.path.join(root, "minference", "ops", "pit_sparse_flash_attention_v2.py")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} is missing (make the checkout with bench/minference-checkout.sh)")
    for name, folder in (("minference", "minference"), ("minference.ops", os.path.join("minference", "ops"))):
        package = types.ModuleType(name)
        package.__path__ = [os.path.join(root, folder)]
        sys.modules[name] = package
    extension = types.ModuleType("minference.cuda")

    def not_built(*_args, **_kwargs):
        raise RuntimeError("MInference's CUDA index extension is not built; bench/gpu_minference.py builds the index itself")

    extension.convert_vertical_slash_indexes = not_built
    sys.modules["minference.cuda"] = extension
    spec = importlib.util.spec_from_file_location("minference.ops.pit_sparse_flash_attention_v2", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    with contextlib.redirect_stdout(sys.stderr):  # it prints advice about optional packages
        spec.loader.exec_module(module)
    return module._triton_mixed_sparse_attention


def block_lists(verticals, slashes, seq_len):
    """Per query block: (tile starts, loose columns) as int64 arrays, by the semantics above."""
    verticals = np.unique(np.asarray(verticals, dtype=np.int64))
    slashes = np.unique(np.asarray(slashes, dtype=np.int64))
    lists = []
    for m in range(math.ceil(seq_len / BLOCK)):
        end = m * BLOCK + BLOCK
        windows = np.unique(np.maximum(end - slashes[slashes < end], BLOCK))
        starts, ends = [], []
        i = 0
        while i < len(windows):
            range_end = int(windows[i])
            starts.append(range_end - BLOCK)
            i += 1
            while i < len(windows):
                j = int(np.searchsorted(windows, range_end, side="right"))  # first window past the range
                if j >= len(windows):
                    i = j
                elif windows[j] <= range_end + BLOCK:
                    range_end += BLOCK
                    i = j + 1
                    continue
                else:
                    i = j
                break
            ends.append(range_end)
        if not starts:
            lists.append((np.zeros(0, np.int64), np.zeros(0, np.int64)))
            continue
        tiles = np.concatenate([np.arange(s, e, BLOCK) for s, e in zip(starts, ends)])
        candidates = verticals[verticals < ends[-1]]
        at = np.searchsorted(np.asarray(starts), candidates, side="right") - 1  # last range starting at or before
        inside = (at >= 0) & (candidates < np.asarray(ends)[np.maximum(at, 0)])
        lists.append((tiles, candidates[~inside]))
    return lists


def minference_index(lists, heads, nnz_v, nnz_s, device):
    """MInference's four index tensors for `heads` heads that share `lists`, batch 1."""
    rows = len(lists)
    block_count = np.zeros(rows, np.int32)
    block_offset = np.zeros((rows, nnz_s), np.int32)
    column_count = np.zeros(rows, np.int32)
    column_index = np.zeros((rows, nnz_v), np.int32)
    for m, (tiles, columns) in enumerate(lists):
        block_count[m] = len(tiles)
        block_offset[m, : len(tiles)] = tiles
        column_count[m] = len(columns)
        column_index[m, : len(columns)] = columns

    def per_head(array):
        tensor = torch.from_numpy(array).to(device)
        return tensor.unsqueeze(0).unsqueeze(0).expand(1, heads, *tensor.shape).contiguous()

    return per_head(block_count), per_head(block_offset), per_head(column_count), per_head(column_index)


def compare_with_ours(lists, inputs):
    """None when our head-0 index has the same tiles and columns per block as `lists`, else the first difference."""
    def read(name):
        return np.fromfile(os.path.join(inputs, name), dtype=np.int32).astype(np.int64)

    tile_offsets, tile_starts = read("tile_offsets.i32"), read("tile_starts.i32")
    col_offsets, columns = read("col_offsets.i32"), read("columns.i32")
    if len(tile_offsets) != len(lists) + 1 or len(col_offsets) != len(lists) + 1:
        return f"our index has {len(tile_offsets) - 1} query blocks, MInference's {len(lists)}"
    for m, (tiles, cols) in enumerate(lists):
        ours_tiles = tile_starts[tile_offsets[m] : tile_offsets[m + 1]]
        ours_cols = columns[col_offsets[m] : col_offsets[m + 1]]
        if not np.array_equal(ours_tiles, tiles):
            return f"block {m}: our tiles {ours_tiles[:4].tolist()}... ({len(ours_tiles)}) vs MInference's {tiles[:4].tolist()}... ({len(tiles)})"
        if not np.array_equal(ours_cols, cols):
            return f"block {m}: our loose columns ({len(ours_cols)}) differ from MInference's ({len(cols)})"
    return None


def read_bf16(path, shape, device):
    values = np.fromfile(path, dtype=np.int16)
    if values.size != math.prod(shape):
        raise ValueError(f"{path}: {values.size} values, expected {shape}")
    return torch.from_numpy(values).view(torch.bfloat16).reshape(shape).to(device)


def reference_rows(q, k, v, lists, rows, scale):
    """float64 attention of the sampled rows over exactly the index's keys: [H, R, D]."""
    heads, _, dim = q.shape
    kv_heads = k.shape[0]
    group = heads // kv_heads
    out = torch.empty(heads, len(rows), dim, dtype=torch.float64)
    for r, row in enumerate(rows):
        tiles, columns = lists[row // BLOCK]
        keys = np.concatenate([(tiles[:, None] + np.arange(BLOCK)).ravel(), columns])
        keys = torch.from_numpy(keys[keys <= row]).to(q.device)
        query = q[:, row, :].double().reshape(kv_heads, group, dim)
        scores = torch.einsum("kgd,knd->kgn", query, k[:, keys, :].double()) * scale
        probs = torch.softmax(scores, dim=-1)
        out[:, r, :] = torch.einsum("kgn,knd->kgd", probs, v[:, keys, :].double()).reshape(heads, dim).cpu()
    return out


def row_errors(x, reference):
    """Largest |x - ref| and largest per-row relative L2 error over heads and sampled rows."""
    diff = x.double() - reference
    relative = diff.norm(dim=-1) / reference.norm(dim=-1).clamp_min(1e-30)
    return {
        "maxAbs": float(diff.abs().max()),
        "maxRowRel": float(relative.max()),
        "finite": bool(torch.isfinite(x).all()),
    }


def run(args):
    with open(os.path.join(args.inputs, "meta.json")) as file:
        meta = json.load(file)
    heads, kv_heads, seq_len, dim = meta["numHeads"], meta["numKvHeads"], meta["seqLen"], meta["headDim"]
    if meta["dtype"] != "BF16":
        raise ValueError(f"dtype {meta['dtype']}: this comparison reads bf16")
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    result = {
        "ok": False,
        "seqLen": seq_len,
        "numHeads": heads,
        "numKvHeads": kv_heads,
        "headDim": dim,
        "numVerticals": len(meta["verticals"]),
        "numSlashes": len(meta["slashes"]),
        "oursMs": meta.get("oursMs"),
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "repeats": args.repeats,
        "kernel": "minference/ops/pit_sparse_flash_attention_v2.py: _triton_mixed_sparse_attention (BLOCK 64 x 64, num_warps 4, num_stages 2), timed as called (its output allocation included)",
        "indexSource": "built by bench/gpu_minference.py with NumPy, following convert_vertical_slash_indexes (MInference's CUDA extension, not compiled)",
    }
    commit_file = os.path.join(args.minference, "COMMIT")
    if os.path.isfile(commit_file):
        with open(commit_file) as file:
            result["minferenceCommit"] = file.read().strip()

    kernel = load_minference_kernel(args.minference)
    import triton  # after the kernel file, which imports it too

    result["triton"] = triton.__version__

    began = time.perf_counter()
    lists = block_lists(meta["verticals"], meta["slashes"], seq_len)
    result["indexBuildSeconds"] = time.perf_counter() - began
    result["tilesPerHead"] = int(sum(len(t) for t, _ in lists))
    result["columnsPerHead"] = int(sum(len(c) for _, c in lists))
    mismatch = compare_with_ours(lists, args.inputs)
    result["indexEqualsOurs"] = mismatch is None
    if mismatch:
        result["indexMismatch"] = mismatch
    block_count, block_offset, column_count, column_index = minference_index(
        lists, heads, len(meta["verticals"]), len(meta["slashes"]), device
    )

    q = read_bf16(os.path.join(args.inputs, "q.bin"), (heads, seq_len, dim), device)
    k = read_bf16(os.path.join(args.inputs, "k.bin"), (kv_heads, seq_len, dim), device)
    v = read_bf16(os.path.join(args.inputs, "v.bin"), (kv_heads, seq_len, dim), device)
    group = heads // kv_heads
    q4 = q.unsqueeze(0).contiguous()
    k4 = k.repeat_interleave(group, dim=0).unsqueeze(0).contiguous()
    v4 = v.repeat_interleave(group, dim=0).unsqueeze(0).contiguous()
    seqlens = torch.tensor([seq_len], dtype=torch.int32, device=device)
    scale = dim**-0.5

    def attend():
        return kernel(q4, k4, v4, seqlens, block_count, block_offset, column_count, column_index, scale, BLOCK, BLOCK)

    ms, times = median_ms(attend, args.repeats, cuda)
    result["ms"] = ms
    result["times"] = times
    rows = np.asarray(meta["rows"], dtype=np.int64)
    theirs = attend()[0][:, torch.from_numpy(rows).to(device), :].float().cpu()
    del k4, v4, q4
    ours = torch.from_numpy(np.fromfile(os.path.join(args.inputs, "ours_rows.f32"), dtype=np.float32).reshape(heads, len(rows), dim))
    reference = reference_rows(q, k, v, lists, rows.tolist(), scale)
    result["rowsSampled"] = len(rows)
    result["errors"] = {
        "oursVsFloat64": row_errors(ours, reference),
        "minferenceVsFloat64": row_errors(theirs, reference),
        "oursVsMinference": row_errors(ours, theirs.double()),
    }
    result["rowTolerance"] = ROW_TOLERANCE
    result["outputsAgree"] = all(e["finite"] and e["maxRowRel"] <= ROW_TOLERANCE for e in result["errors"].values())
    result["ok"] = True
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", required=True, help="folder written by bench/gpu_band_export.js")
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--minference", default=os.environ.get("MINFERENCE_DIR"), help="MInference checkout (default $MINFERENCE_DIR)")
    parser.add_argument("--repeats", type=int, default=int(os.environ.get("REPEATS", "5")))
    args = parser.parse_args()
    try:
        if MISSING:
            raise MISSING
        if not args.minference:
            raise ValueError("no MInference checkout: set MINFERENCE_DIR or --minference")
        result = run(args)
    except Exception as error:  # reported in the results table as the reason it did not run
        result = {"ok": False, "error": f"{type(error).__name__}: {error}".strip().splitlines()[0]}
    with open(args.out, "w") as file:
        json.dump(result, file, indent=2)
    summary = (
        f"MInference Triton VS: {result['ms']:.2f} ms (ours {result['oursMs']} ms); index equal to ours: {result['indexEqualsOurs']}; outputs agree: {result['outputsAgree']}"
        if result["ok"]
        else f"MInference comparison failed: {result['error']}"
    )
    print(summary, file=sys.stderr)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

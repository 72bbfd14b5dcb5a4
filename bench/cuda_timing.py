"""The one timer of the Python benchmarks (bench/gpu_sdpa.py, bench/gpu_minference.py): median of
`repeats` calls after one warm-up call, timed with CUDA events on a GPU (wall clock otherwise,
only for trying a script without one)."""
import time

import torch


def median_ms(run, repeats, cuda=True):
    """Returns (median ms, every timed ms)."""
    run()
    if cuda:
        torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            run()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:
            began = time.perf_counter()
            run()
            times.append((time.perf_counter() - began) * 1e3)
    return sorted(times)[len(times) // 2], times

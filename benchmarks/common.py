"""What every benchmark records beside its figures, and how it saves them."""

import json
import os
import platform
import sys
import time

import numpy as np
import tensorflow as tf


# Vector extensions that change what a CPU core can do per cycle.
VECTOR_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16")


def cpu_facts():
    """The processor's model name and which of `VECTOR_FLAGS` it reports
    (from /proc/cpuinfo; empty where there is none). Virtual machines of
    one name can expose different extensions, and TensorFlow's speed
    follows them."""
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
    except OSError:
        return {"cpu_model": platform.processor() or None, "cpu_flags": []}
    fields = dict(
        (key.strip(), value.strip())
        for key, _, value in (line.partition(":") for line in text.splitlines()[:40])
    )
    flags = set(fields.get("flags", "").split())
    return {"cpu_model": fields.get("model name"),
            "cpu_flags": [flag for flag in VECTOR_FLAGS if flag in flags]}


def theoretical_peak(facts=None, cores=None):
    """The machine's peak FLOP/s from its cores, clock and vector width.

    Assumes two fused multiply-add pipes per core, as on AMD Zen and Intel
    server cores, each 16 float32 lanes wide with AVX-512F, else 8 with
    AVX2 (an FMA is 2 FLOP); with AVX512_BF16 its bfloat16 dot product does
    twice the float32 rate. Cores whose AVX-512 runs on 256-bit halves (AMD
    Zen 4) reach half the AVX-512 figure. The clock is the `cpu MHz` of
    /proc/cpuinfo: the current one, below a turbo clock.

    Returns:
        A dict with `fp32_flops_per_s`, `bf16_flops_per_s` (None without
        AVX512_BF16), `clock_hz`, `flops_per_cycle_per_core` and `how`.
    """
    facts = facts or cpu_facts()
    cores = cores or os.cpu_count()
    clock = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    clock = float(line.split(":")[1]) * 1e6
                    break
    except OSError:
        pass
    lanes = 16 if "avx512f" in facts["cpu_flags"] else 8 if "avx2" in facts["cpu_flags"] else 4
    per_cycle = 2 * lanes * 2
    fp32 = cores * clock * per_cycle if clock else None
    bf16 = 2 * fp32 if fp32 and "avx512_bf16" in facts["cpu_flags"] else None
    return {
        "fp32_flops_per_s": fp32,
        "bf16_flops_per_s": bf16,
        "clock_hz": clock,
        "flops_per_cycle_per_core": per_cycle,
        "how": f"{cores} cores x clock x 2 FMA pipes x {lanes} float32 lanes x 2 FLOP",
    }


def machine():
    """The facts that make a figure comparable: cores, processor, versions."""
    return {
        "cpu_cores": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        **cpu_facts(),
        "tensorflow": tf.__version__,
    }


def command(module, argv=None):
    """The command line that ran `module` (`benchmarks.NAME`) with `argv`
    (None: this process's own arguments), for a result's record."""
    return f"python -m {module} " + " ".join(sys.argv[1:] if argv is None else argv)


def save(result, path):
    """Writes `result` as JSON to `path` when a path is given, making its
    folder if missing (a long run must not end in a missing folder)."""
    if path:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as f:
            json.dump(result, f, indent=2)


def median_seconds(fn, repeats, warmup=1):
    """Median wall time of `fn()` over `repeats` runs after `warmup` runs
    (the first of which traces any `tf.function`)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))

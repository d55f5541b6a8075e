"""Sequences per second of Moving MNIST through the full tf.data pipeline.

Measures what a training loop would see: `make_dataset("mmnist2")` (two
digits, 20 frames, 64x64, split 10 -> 10) pulled batch after batch in Python,
after a warm-up. The target (issue 2) is at least 2,000 sequences/s on a
2-core CPU, so that data never limits training.

    python -m benchmarks.data_throughput            # the recorded figure
    python -m benchmarks.data_throughput --small    # a quick check (tests)
"""

import argparse
import json
import sys
import time

from benchmarks import common
from tfodevideo.data import make_dataset


def measure(dataset_name, batch_size, batches, warmup, repeats):
    """Returns the sequences/s of each repeat, over `batches` batches each."""
    iterator = iter(make_dataset(dataset_name, batch_size=batch_size))
    for _ in range(warmup):
        next(iterator)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(batches):
            next(iterator)
        rates.append(batches * batch_size / (time.perf_counter() - start))
    return rates


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mmnist2")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--small", action="store_true", help="a few batches only")
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args(argv)
    if args.small:
        args.batch_size, args.batches, args.repeats = 8, 2, 1
    rates = measure(args.dataset, args.batch_size, args.batches, 3, args.repeats)
    result = {
        "dataset": args.dataset,
        "batch_size": args.batch_size,
        "batches_per_repeat": args.batches,
        "sequences_per_second_median": sorted(rates)[len(rates) // 2],
        "sequences_per_second_all": [round(r, 1) for r in rates],
        **common.machine(),
    }
    print(json.dumps(result, indent=2))
    common.save(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

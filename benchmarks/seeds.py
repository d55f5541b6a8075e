"""Mean and spread over seeds of figures that other benchmarks wrote.

A comparison reports several seeds: train each setting once per seed, run
the benchmark once per trained model, then gather the JSONs here by
setting. Each `--field NAME=PATH` takes a dotted path into every JSON of a
group (a whole number picks a list's item); the result gives, per group and field, the mean, the sample
standard deviation (`std`, 0 for one seed) and the values in file order,
and per field the difference of the groups' means beside twice their
pooled standard deviation (the evaluation protocol's test for a
difference that is more than seed noise).

    python -m benchmarks.seeds \\
        --group no_permutation_loss a_s0.json a_s1.json \\
        --group permutation_loss_0.1 b_s0.json b_s1.json \\
        --field swap_psnr=swap.summary.swap.psnr \\
        --field class_from_za=probes.class_accuracy.appearance \\
        --json benchmarks/results/swap/permutation_ablation.json
"""

import argparse
import json
import sys

import numpy as np

from benchmarks import common


def spread(values):
    """`{"mean", "std", "values"}` of a list of numbers (sample standard
    deviation, 0 for one value); None entries (nothing measured) are left
    out, and a list of none gives None for both."""
    kept = np.asarray([v for v in values if v is not None], np.float64)
    if not len(kept):
        return {"mean": None, "std": None, "values": list(values)}
    std = float(kept.std(ddof=1)) if len(kept) > 1 else 0.0
    return {"mean": float(kept.mean()), "std": std, "values": list(values)}


def field(record, path):
    """The value at the dotted `path` of a JSON record; a whole-number key
    indexes a list (`quality.0.val_psnr`)."""
    value = record
    for key in path.split("."):
        if isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        elif isinstance(value, dict) and key in value:
            value = value[key]
        else:
            raise KeyError(f"No field {path!r}: {key!r} is missing.")
    return value


def pooled_std(first, second):
    """Pooled sample standard deviation of two groups' spreads."""
    n1, n2 = len(first["values"]), len(second["values"])
    if n1 + n2 <= 2:
        return 0.0
    return float(np.sqrt(((n1 - 1) * first["std"] ** 2 + (n2 - 1) * second["std"] ** 2)
                         / (n1 + n2 - 2)))


def summarise(groups, fields):
    """Per group and field the spread over the group's records, and for two
    groups each field's difference of means against twice the pooled sd.

    Args:
        groups: dict of group name to a list of JSON records.
        fields: dict of field name to a dotted path into each record.
    """
    result = {"groups": {}}
    for name, records in groups.items():
        result["groups"][name] = {key: spread([field(r, path) for r in records])
                                  for key, path in fields.items()}
    if len(groups) == 2:
        first, second = (result["groups"][name] for name in groups)
        names = list(groups)
        result["difference"] = {"of": f"{names[1]} - {names[0]}"}
        for key in fields:
            if first[key]["mean"] is None or second[key]["mean"] is None:
                continue
            delta = second[key]["mean"] - first[key]["mean"]
            twice = 2 * pooled_std(first[key], second[key])
            result["difference"][key] = {"mean_difference": delta,
                                         "twice_pooled_std": twice,
                                         "beyond_seed_noise": bool(abs(delta) > twice)}
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", nargs="+", action="append", required=True,
                        metavar=("NAME", "JSON"),
                        help="a setting's name, then its benchmark JSONs, one per seed")
    parser.add_argument("--field", action="append", required=True, metavar="NAME=PATH",
                        help="a figure to gather: its name and dotted path in each JSON")
    parser.add_argument("--json", required=True)
    args = parser.parse_args(argv)
    fields = {}
    for item in args.field:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            parser.error(f"--field takes NAME=PATH. Received: --field {item!r}")
        fields[name] = path
    groups, files = {}, {}
    for name, *paths in args.group:
        if not paths:
            parser.error(f"--group {name} names no JSON file.")
        files[name] = paths
        groups[name] = []
        for path in paths:
            with open(path) as f:
                groups[name].append(json.load(f))
    result = {
        "command": common.command("benchmarks.seeds", argv),
        "fields": fields,
        "files": files,
        **summarise(groups, fields),
    }
    common.save(result, args.json)
    for name, row in result["groups"].items():
        print(name + ": " + ", ".join(
            f"{key} {s['mean']:.4g} +- {s['std']:.2g}" for key, s in row.items()
            if s["mean"] is not None))
    return 0


if __name__ == "__main__":
    sys.exit(main())

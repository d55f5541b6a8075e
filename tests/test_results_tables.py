"""Every table of benchmarks/RESULTS.md states where its figures come from, and
the figures of tables backed by a JSON file agree with it.

A table is announced by an HTML comment on the line before it:

- `<!-- json: FILE KEY.KEY... -->`: FILE (under the repository) holds, at
  that key path (none: the whole file), a dict whose entries are the table's rows. A row's first
  cell is its key (`a/b` for nested keys); every other column whose header
  names a field of the entry is checked: a plain number against the value,
  `mean +- sd` against the entry's `mean` and `std`, each to the digits
  printed.
- `<!-- json: FILE KEY.KEY; row=FIELD; COLUMN=FIELD.FIELD*SCALE; ... -->`:
  the same where the rows are a list (each found by its FIELD equal to the
  first cell, or by `row=A,B` whose values the first cell joins by ", "; a
  single record counts as a list of one) or where columns are named otherwise than the JSON's fields
  (a dotted path into the entry, where a whole number indexes a list and
  an empty path is the entry itself, optionally times a scale).
- `<!-- unbacked: REASON -->`: the table has no JSON yet, and says why.
"""

import json
import os
import re
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "RESULTS.md")
MARKER = re.compile(r"<!--\s*(json|unbacked):\s*(.*?)\s*-->")
NUMBER = re.compile(r"^-?[\d,]*\.?\d+$")


def tables(text):
    """`(marker, header, rows, line)` for every Markdown table in `text`."""
    lines = text.splitlines()
    found = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("| ---"):
            marker = MARKER.match(lines[i - 1].strip()) if i > 0 else None
            header = [c.strip() for c in lines[i].strip("|").split("|")]
            rows, j = [], i + 2
            while j < len(lines) and lines[j].startswith("|"):
                rows.append([c.strip() for c in lines[j].strip("|").split("|")])
                j += 1
            found.append((marker, header, rows, i + 1))
            i = j
        else:
            i += 1
    return found


def _plain(cell):
    return cell.replace("*", "").replace("`", "").strip()


def _check(printed, value, where):
    digits = len(printed.split(".")[1]) if "." in printed else 0
    expected = round(float(value), digits)
    assert abs(float(printed.replace(",", "")) - expected) <= 0.6 * 10 ** -digits, (
        f"{where}: RESULTS.md says {printed}, the JSON {value}")


def _field(entry, path):
    """The value at a dotted `path` of `entry` times an optional `*SCALE`, or None."""
    path, _, scale = path.partition("*")
    for key in filter(None, path.split(".")):  # An empty path: the entry itself.
        if isinstance(entry, list) and key.isdigit() and int(key) < len(entry):
            entry = entry[int(key)]  # A whole number indexes a list (per-seed values).
        elif isinstance(entry, dict) and key in entry:
            entry = entry[key]
        else:
            return None
    if entry is None or not scale:
        return entry
    return entry * float(scale)


def check_table(header, rows, spec, line):
    head, *options = [part.strip() for part in spec.split(";")]
    path, _, key_path = head.partition(" ")
    mapping = dict(option.split("=", 1) for option in options if option)
    row_field = mapping.pop("row", None)
    with open(os.path.join(ROOT, path)) as f:
        node = json.load(f)
    for key in filter(None, key_path.split(".")):  # No key path: the whole file.
        node = node[key]
    checked = 0
    for row in rows:
        if row_field:
            entries = [node] if isinstance(node, dict) else node  # One run's record.
            fields = row_field.split(",")  # Several: the first cell joins them by ", ".
            matches = [e for e in entries
                       if ", ".join(str(e[f]) for f in fields) == _plain(row[0])]
            assert len(matches) == 1, f"RESULTS.md line {line}: row {row[0]!r} not in the JSON"
            entry = matches[0]
        else:
            entry = node
            for key in _plain(row[0]).split("/"):
                entry = entry[key]
        for name, cell in zip(header[1:], row[1:]):
            cell = _plain(cell)
            value = _field(entry, mapping.get(name, name))
            if value is None:
                continue
            where = f"RESULTS.md line {line}, row {row[0]!r}, column {name!r}"
            if "+-" in cell:
                mean, std = (part.strip() for part in cell.split("+-"))
                _check(mean, value["mean"], where)
                _check(std, value["std"], where)
                checked += 1
            elif NUMBER.match(cell):
                _check(cell, value, where)
                checked += 1
    return checked


def test_every_results_table_is_backed_or_says_why():
    with open(RESULTS) as f:
        found = tables(f.read())
    assert found
    for marker, _, _, line in found:
        assert marker, f"RESULTS.md line {line}: a table without a json/unbacked marker"
        assert marker.group(2), f"RESULTS.md line {line}: an empty marker"


def test_backed_tables_agree_with_their_json():
    with open(RESULTS) as f:
        found = [t for t in tables(f.read()) if t[0] and t[0].group(1) == "json"]
    if not found:
        pytest.skip("no JSON-backed table yet")
    for marker, header, rows, line in found:
        assert check_table(header, rows, marker.group(2), line) > 0, (
            f"RESULTS.md line {line}: no figure of the table was checked")


def test_the_checker_catches_a_wrong_figure(tmp_path, monkeypatch):
    (tmp_path / "r.json").write_text(json.dumps(
        {"t": {"a": {"psnr": 15.904, "ssim": {"mean": 0.5, "std": 0.01}}}}))
    monkeypatch.setattr(sys.modules[__name__], "ROOT", str(tmp_path))
    header = ["predictor", "psnr", "ssim"]
    assert check_table(header, [["a", "15.90", "0.500 +- 0.010"]], "r.json t", 1) == 2
    with pytest.raises(AssertionError, match="15.80"):
        check_table(header, [["a", "15.80", "0.500 +- 0.010"]], "r.json t", 1)
    with pytest.raises(AssertionError, match="0.020"):
        check_table(header, [["a", "15.90", "0.500 +- 0.020"]], "r.json t", 1)
    (tmp_path / "l.json").write_text(json.dumps({"rows": [{"model": "m", "flops": 2.5e9}]}))
    spec = "l.json rows; row=model; GFLOP=flops*1e-9"
    assert check_table(["model", "GFLOP"], [["m", "2.50"]], spec, 1) == 1
    with pytest.raises(AssertionError, match="2.60"):
        check_table(["model", "GFLOP"], [["m", "2.60"]], spec, 1)
    (tmp_path / "s.json").write_text(json.dumps(
        {"psnr": {"mean": 21.5, "std": 0.6, "per_seed": [21.0, 22.0]}}))
    spec, header = "s.json ; all=; seed 1=per_seed.1", ["quantity", "all", "seed 1"]
    assert check_table(header, [["psnr", "21.50 +- 0.60", "22.00"]], spec, 1) == 2
    with pytest.raises(AssertionError, match="21.00"):
        check_table(header, [["psnr", "21.50 +- 0.60", "21.00"]], spec, 1)

"""Trains a preset: `python scripts/train.py PRESET [--quick] [--epochs N] ...`."""

import sys

from tfodevideo.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))

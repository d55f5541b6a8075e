"""Writes a PNG preview of every data set: `python scripts/preview.py --out DIR`."""

import sys

from tfodevideo.cli import main

if __name__ == "__main__":
    sys.exit(main(["preview", *sys.argv[1:]]))

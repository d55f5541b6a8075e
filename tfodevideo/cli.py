"""The `tfodevideo` command.

User errors (bad arguments, missing or malformed files) print one line and
exit with status 2; anything else is a bug and keeps its traceback.
"""

import argparse
import sys

USER_ERRORS = (ValueError, FileNotFoundError, NotADirectoryError, PermissionError)


def _preview(args):
    from tfodevideo.preview import write_previews

    written, skipped = write_previews(
        args.out, num_clips=args.num_clips, seed=args.seed, data_dir=args.data_dir
    )
    for path in written:
        print(f"wrote {path}")
    for name, reason in skipped.items():
        print(f"skipped {name}: {reason}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tfodevideo",
        description="Continuous-time video models with latent Neural ODEs.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    preview = commands.add_parser(
        "preview", help="write a PNG strip of every data set"
    )
    preview.add_argument("--out", default="preview", help="output folder")
    preview.add_argument(
        "--num-clips", type=int, default=4, help="clips per data set"
    )
    preview.add_argument("--seed", type=int, default=0, help="data seed")
    preview.add_argument(
        "--data-dir",
        default=None,
        help="folder holding mnist.npz and the Moving MNIST test file "
        "(default: $TFODEVIDEO_DATA_DIR, else download MNIST through Keras)",
    )
    preview.set_defaults(run=_preview)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except USER_ERRORS as error:
        print(f"tfodevideo: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

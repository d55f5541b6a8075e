"""Writes a TF Serving REST request body for a clip.

    python scripts/serving_request.py MODEL.keras CLIP --times 0.2,0.3,0.5 > request.json
    curl -X POST localhost:8501/v1/models/NAME:predict -d @request.json

CLIP is a `.npy`, `.npz`, GIF or folder of PNGs; its first `num_context`
frames (at `k * frame_dt`) are the inputs. The body uses the columnar
`"inputs"` format of the `serving_default` signature.
"""

import argparse
import json
import sys

import numpy as np

from tfodevideo.constants import FRAME_DT
from tfodevideo.inference import model_inputs
from tfodevideo.inference import read_clip
from tfodevideo.models import load_model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("clip")
    parser.add_argument("--times", required=True, help="query times, e.g. 0.2,0.3,0.5")
    parser.add_argument("--frame-dt", type=float, default=FRAME_DT)
    args = parser.parse_args(argv)
    model = load_model(args.model)
    times = [float(t) for t in args.times.split(",")]
    request = model_inputs(model, read_clip(args.clip, model.channels), times, args.frame_dt)
    body = {
        "signature_name": "serving_default",
        "inputs": {
            "frames": np.round(request["frames"].astype(np.float64), 4).tolist(),
            "input_times": request["input_times"].astype(np.float64).round(6).tolist(),
            "query_times": times,
        },
    }
    json.dump(body, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""PyTorch oracle for one layered-atlas fitting iteration (VIDEO_ATLAS.md §2, design A; NLA's losses).

Developer tool: CI never runs it; its output is committed as test/fixtures/atlas_step.safetensors and checked by
src/video/atlas/atlasLosses.oracle.test.ts. Needs Debian's torch (python3-torch; the first python3 on PATH may
lack it):

    /usr/bin/python3 tools/atlas_oracle.py [--out test/fixtures/atlas_step.safetensors]

The iteration
  * Clip: the first 5 frames of ../shared/data/video/blackswan (frames and DAVIS masks) resized with PIL (box
    filter) to 24 x 14; masks at >= 128.
  * Flows: smooth synthetic fields (a per-pair translation plus a sinusoid, 0.3-2 px), forward and backward for the
    4 pairs, with about 15 % of the pixels marked invalid (seed 21). The losses only read the flows at the batch's
    pixels, so their origin does not matter.
  * Batch: 96 pixels drawn uniformly over all frames (seed 22); the first 24 also carry the rigidity terms (shifted
    by 1 px and by the global step of 48 px along x and y, in float32 as the engine shifts them), the first 48 the
    flow terms (packed indices; the last frame has no forward flow, the first no backward one).
  * Model: mapping MLPs 3 -> 8 -> 8 -> 8 -> 2 and alpha MLP 39 -> 8 -> 8 -> 8 -> 1 (6 octaves), weights
    U(+-1/sqrt(in)) for alpha and 2.5 times that for the mappings (far enough from the identity that the rigidity
    terms are well above their minimum), texture pyramids 16..64 (background) and 16..32 (foreground) with random
    texels (seed 23).
  * Cases: "bootstrap" (iteration 0: global rigidity and the mask bootstrap at 2000), "prior" (iteration 1000: no
    global rigidity, the weak mask prior at 100) and "backgroundOnly" (one layer, no alpha, iteration 0).
  * Stored per case: the unweighted terms (ATLAS_TERMS order, 0 for a term that is off), the weighted total, the
    batch's reconstruction, and d(total)/d(parameter) for every parameter. All math in float64 from float32 values;
    stored as float32.
"""

import argparse
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from atlas_model import NO_FLOW, RECIPE_WEIGHTS, TERMS, AtlasTorch, atlas_losses, mlp_sizes  # noqa: E402
from generator_oracle import read_safetensors, write_safetensors  # noqa: E402

W, H, FRAMES = 24, 14, 5
N, R, M = 96, 24, 48
CONFIG = {
    "batch": N,
    "rigidityBatch": R,
    "flowBatch": M,
    "mappingWidth": 8,
    "alphaWidth": 8,
    "hiddenLayers": 3,
    "alphaOctaves": 6,
    "backgroundResolution": 64,
    "foregroundResolution": 32,
    "bootstrapIterations": 1000,
    "globalRigidityPixels": 48,
    "weights": RECIPE_WEIGHTS,
}


def load_clip(root):
    frames, masks = [], []
    for t in range(FRAMES):
        im = Image.open(os.path.join(root, "frames", f"{t:05d}.jpg")).convert("RGB").resize((W, H), Image.BOX)
        frames.append(np.asarray(im, dtype=np.uint8))
        mk = Image.open(os.path.join(root, "masks", f"{t:05d}.png")).convert("L").resize((W, H), Image.BOX)
        masks.append(np.asarray(mk, dtype=np.uint8))
    return np.stack(frames), np.stack(masks)


def synthetic_flows(rng):
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    out = {}
    for key in ("forward", "backward"):
        f = np.zeros((FRAMES - 1, 2, H, W))
        for p in range(FRAMES - 1):
            tx, ty = rng.uniform(-1.5, 1.5, 2)
            f[p, 0] = tx + 0.5 * np.sin(xx / 3.0 + p)
            f[p, 1] = ty + 0.4 * np.cos(yy / 2.5 - p)
        out[key] = f.astype(np.float32)
        out[key + "Valid"] = (rng.uniform(size=(FRAMES - 1, 1, H, W)) > 0.15).astype(np.float32)
    return out


def norm_coords(px, py, t):
    x = (px + 0.5 - W / 2) * 2 / W
    y = (py + 0.5 - H / 2) * 2 / W
    tt = 2 * t / (FRAMES - 1) - 1
    return np.stack([x, y, tt], axis=1).astype(np.float32)


def draw_batch(rng, frames, masks):
    t = rng.integers(0, FRAMES, N)
    px = rng.integers(0, W, N)
    py = rng.integers(0, H, N)
    coords = norm_coords(px, py, t)
    rgb = frames[t, py, px].astype(np.float32) / np.float32(255)
    mask = (masks[t, py, px] >= 128).astype(np.float32)
    q = py * W + px
    fwd = np.where(t < FRAMES - 1, t * W * H + q, NO_FLOW)[:M].astype(np.uint32)
    bwd = np.where(t > 0, (t - 1) * W * H + q, NO_FLOW)[:M].astype(np.uint32)
    pixel = 2.0 / W

    def shifted(step, axis):
        s = coords[:R].astype(np.float64)
        s[:, axis] += step
        return s.astype(np.float32)

    rigidity = {
        "coords": coords[:R].copy(),
        "dx": shifted(pixel, 0),
        "dy": shifted(pixel, 1),
        "globalDx": shifted(48 * pixel, 0),
        "globalDy": shifted(48 * pixel, 1),
    }
    return {"coords": coords, "rgb": rgb, "mask": mask, "rigidity": rigidity, "forwardIndex": fwd, "backwardIndex": bwd}


def make_params(rng, background_only):
    params = {}

    def mlp(name, inp, hidden, out, scale):
        sizes = mlp_sizes(inp, hidden, CONFIG["hiddenLayers"], out)
        for k in range(len(sizes) - 1):
            bound = scale / np.sqrt(sizes[k])
            params[f"{name}.{k}.weight"] = rng.uniform(-bound, bound, (sizes[k + 1], sizes[k])).astype(np.float32)
            params[f"{name}.{k}.bias"] = rng.uniform(-bound, bound, sizes[k + 1]).astype(np.float32)

    def pyramid(name, top):
        count = int(np.log2(top)) - 3
        r = 16
        while r <= top:
            params[f"{name}.atlas.level{r}"] = (rng.uniform(0, 1, (3, r, r)) / count).astype(np.float32)
            r *= 2

    mlp("background.mapping", 3, CONFIG["mappingWidth"], 2, 2.5)
    pyramid("background", CONFIG["backgroundResolution"])
    if not background_only:
        mlp("foreground.mapping", 3, CONFIG["mappingWidth"], 2, 2.5)
        pyramid("foreground", CONFIG["foregroundResolution"])
        mlp("alpha", 3 * (1 + 2 * CONFIG["alphaOctaves"]), CONFIG["alphaWidth"], 1, 1)
    return params


def run_case(params, batch, flows, iteration, background_only):
    cfg = dict(CONFIG, backgroundOnly=background_only)
    p64 = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    model = AtlasTorch(p64, cfg)
    d = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731
    b = {
        "coords": d(batch["coords"]),
        "rgb": d(batch["rgb"]),
        "mask": None if background_only else d(batch["mask"]),
        "rigidity": {k: d(v) for k, v in batch["rigidity"].items()},
        "forwardIndex": torch.tensor(batch["forwardIndex"].astype(np.int64)),
        "backwardIndex": torch.tensor(batch["backwardIndex"].astype(np.int64)),
    }
    f = {k: d(v) for k, v in flows.items()}
    total, terms, recon = atlas_losses(model, b, f, (W, H, FRAMES), iteration)
    total.backward()
    values = np.array([float(terms[k]) if k in terms else 0.0 for k in TERMS], dtype=np.float32)
    grads = {k: v.grad.numpy().astype(np.float32) for k, v in p64.items()}
    return float(total), values, recon.detach().numpy().astype(np.float32), grads


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(here, "..", "test", "fixtures", "atlas_step.safetensors"))
    ap.add_argument("--clip", default=os.path.join(here, "..", "..", "shared", "data", "video", "blackswan"))
    args = ap.parse_args()

    frames, masks = load_clip(args.clip)
    flows = synthetic_flows(np.random.default_rng(21))
    batch = draw_batch(np.random.default_rng(22), frames, masks)
    tensors = {
        "batch.coords": batch["coords"],
        "batch.rgb": batch["rgb"],
        "batch.mask": batch["mask"],
        # u32 bits reinterpreted as float32, as the engine uploads them.
        "batch.forwardIndex": batch["forwardIndex"].view(np.float32),
        "batch.backwardIndex": batch["backwardIndex"].view(np.float32),
    }
    for k, v in batch["rigidity"].items():
        tensors[f"batch.rigidity.{k}"] = v
    for k, v in flows.items():
        tensors[f"flows.{k}"] = v
    cases = {"bootstrap": (0, False), "prior": (1000, False), "backgroundOnly": (0, True)}
    totals = {}
    for name, (iteration, background_only) in cases.items():
        params = make_params(np.random.default_rng(23), background_only)
        for k, v in params.items():
            tensors[f"{name}.param.{k}"] = v
        total, values, recon, grads = run_case(params, batch, flows, iteration, background_only)
        totals[name] = total
        tensors[f"{name}.values"] = values
        tensors[f"{name}.total"] = np.array([total], dtype=np.float32)
        tensors[f"{name}.reconstruction"] = recon
        for k, g in grads.items():
            tensors[f"{name}.grad.{k}"] = g
        print(name, "total", total, dict(zip(TERMS, values.tolist())))
    metadata = {
        "format": "text2live-web atlas oracle v1",
        "geometry": json.dumps({"width": W, "height": H, "frames": FRAMES}),
        "config": json.dumps(CONFIG),
        "cases": json.dumps({k: {"iteration": it, "backgroundOnly": bo} for k, (it, bo) in cases.items()}),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    write_safetensors(args.out, tensors, metadata)
    back, meta = read_safetensors(args.out)
    assert meta["format"] == metadata["format"] and len(back) == len(tensors)
    print("wrote", args.out, len(tensors), "tensors")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""PyTorch oracle for one Text2LIVE video step on an atlas (spec §B.4-§B.6): every loss term, the warped renders and
every generator gradient, for a foreground and a background step.

Developer tool: CI never runs it; its output is committed as test/fixtures/video_step.safetensors and checked by
src/video/edit/videoStep.oracle.test.ts. Needs Debian's torch and torchvision (python3-torch, python3-torchvision):

    /usr/bin/python3 tools/video_step_oracle.py [--out test/fixtures/video_step.safetensors]

Written from the spec, with the loss terms of tools/loss_oracle.py (item_terms: the image oracle's, which matches the
engine) and its tiny CLIP, generator and view law. Per case:
  * Atlas crop: a real photo resized with PIL to 30 x 38 (H x W). Three frame windows (foreground: sizes 18 x 22,
    17 x 24, 18 x 22; background: 18 x 22 each), each with a grid into the crop made of a rotation, a scale and a
    shift (a few samples past the crop's border, which clamp), alpha windows from a smooth random field in [0, 1]
    (foreground) and frame inputs cut from another photo (foreground: multiplied by alpha, as F = V * alpha).
  * The step (spec §B.5): O = G(crop), rendered over the crop (composite, green screen, alpha) and sampled at each
    grid with F.grid_sample(bilinear, padding_mode="border", align_corners=False) (the engine's documented choice:
    no darkened borders); foreground: every warped output times the frame's alpha, the green screen where alpha is 0;
    the loss input is the crop sampled at the grid (not multiplied). Then the direct pass over frame window `direct`
    (foreground: all four output channels times alpha), and, in the foreground case, the whole atlas (a third photo,
    24 x 30) as a plain image pass. Items: the three warps, the direct pass, the whole atlas (K = 5 or 4).
  * Losses: the video weights of spec §B.1 (structure 3, sparsity 0.1 with L0 0.005 / L1 0.01, fill 0), n_aug 3 (6
    in the product; 3 keeps the fixture small), FIXED views per item (composition, direction output, direction
    input, screen) and target rows once per step. Foreground: the bootstrap term with a constant weight 10 (scheduler
    "none", as car-turn_rusty) on the last item (the whole atlas) against its relevancy map; background: no
    bootstrap.
  * Stored per case ("fg." / "bg."): the inputs, the warped renders of every item, the unweighted terms, weights,
    total and dTotal/d(parameter). float64 from float32 values; stored as float32.
"""

import argparse
import json
import math
import os
import random
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generator_oracle import SkipGenerator, init_weights, read_safetensors, write_safetensors  # noqa: E402
from loss_oracle import (  # noqa: E402
    GEN,
    GREEN,
    TERMS,
    clip_sizes,
    draw_views,
    item_terms,
    load_vision,
    relevancy_target,
    resize_short_side,
)
from make_tiny_clip import PROJECTION_DIM, VISION  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
IMAGES = os.path.join(ROOT, "..", "shared", "data", "images")
N_AUG = 3
STEP = 74  # a whole-atlas step: (74 + 1) % 75 == 0
CONFIG = dict(
    lambdaComposition=1.0,
    lambdaScreen=1.0,
    lambdaStructure=3.0,
    lambdaSparsity=0.1,
    lambdaAlphaL0=0.005,
    lambdaAlphaL1=0.01,
    lambdaBootstrap=10.0,
    lambdaBootstrapMin=0.0,
    bootstrapEpoch=3000,
    bootstrapScheduler="none",
    relevancyNumLayers=0,
    bootstrappingMinCover=1.0,
    clipAffineTransformFill=0.0,
    nAug=N_AUG,
)
CROP_HW = (30, 38)
WHOLE_HW = (24, 30)
SEEDS = dict(generator=11, targets=12, views=21, windows=22)
CASES = {
    "fg": dict(layer="foreground", windows=[(18, 22), (17, 24), (18, 22)], direct=1, whole=True, bootstrap=True),
    "bg": dict(layer="background", windows=[(18, 22)] * 3, direct=2, whole=False, bootstrap=False),
}


def photo(name, hw):
    img = Image.open(os.path.join(IMAGES, name)).convert("RGB").resize((hw[1], hw[0]), Image.BILINEAR)
    return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)[None].contiguous()


def window_grid(h, w, crop_hw, angle, scale, shift):
    """[h*w, 2] normalised grid: window pixel (x, y) -> crop index coordinate R(angle) * scale * (x - cx, y - cy)
    + crop centre + shift, then (2c + 1) / size - 1 (align_corners=False)."""
    ch, cw = crop_hw
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    x, y = xs - (w - 1) / 2, ys - (h - 1) / 2
    c, s = math.cos(angle), math.sin(angle)
    u = scale * (c * x - s * y) + (cw - 1) / 2 + shift[0]
    v = scale * (s * x + c * y) + (ch - 1) / 2 + shift[1]
    g = torch.stack([(2 * u + 1) / cw - 1, (2 * v + 1) / ch - 1], dim=-1)
    return g.reshape(h * w, 2).float()


def smooth_field(h, w, gen):
    coarse = torch.rand(1, 1, 4, 5, generator=gen, dtype=torch.float64)
    return F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False).clamp(0, 1).float()


def sample(image, grid, h, w):
    g = grid.double().view(1, h, w, 2)
    return F.grid_sample(image, g, mode="bilinear", padding_mode="border", align_corners=False)


def run_case(name, case, vision, targets, tensors, metadata):
    layer = case["layer"]
    fg = layer == "foreground"
    crop = photo("dog-on-bench.png", CROP_HW)
    frames = photo("two-women-on-bench.png", (26, 32))
    gen_w = torch.Generator().manual_seed(SEEDS["windows"] + (0 if fg else 1))
    windows = []
    for i, (h, w) in enumerate(case["windows"]):
        angle = (i - 1) * 0.3 + (0.1 if fg else -0.05)
        grid = window_grid(h, w, CROP_HW, angle, 1.2 - 0.1 * i, (1.5 * i - 1, 0.5 - i))
        alpha = smooth_field(h, w, gen_w) if fg else torch.ones(1, 1, h, w)
        top, left = 2 + i, 3 + 2 * i
        inp = frames[:, :, top : top + h, left : left + w]
        inp = (inp * alpha) if fg else inp
        windows.append(dict(grid=grid, alpha=alpha, input=inp.contiguous()))
    whole = photo("building-and-pine.png", WHOLE_HW) if case["whole"] else None

    gen = SkipGenerator(**GEN)
    init_weights(gen, SEEDS["generator"])
    params32 = {n: p.detach().clone() for n, p in gen.named_parameters()}
    gen = gen.double()
    green = torch.tensor(GREEN, dtype=torch.float64).view(1, 3, 1, 1)

    # ---- the items (spec §B.5)
    items = []
    x = crop.double()
    out = gen(x)
    edit, a = out[:, :3], out[:, 3:4]
    rendered = torch.cat([(1 - a) * x + a * edit, a * edit + (1 - a) * green, a], dim=1)
    for win in windows:
        h, w = win["alpha"].shape[2:]
        warped = sample(rendered, win["grid"], h, w)
        comp, gs, al = warped[:, :3], warped[:, 3:6], warped[:, 6:7]
        if fg:
            fa = win["alpha"].double()
            comp, gs, al = comp * fa, gs * fa + (1 - fa) * green, al * fa
        with torch.no_grad():
            inp = sample(x, win["grid"], h, w)
        items.append(dict(input=inp, composite=comp, greenscreen=gs, alpha=al))
    d = windows[case["direct"]]
    xin = d["input"].double()
    out4 = gen(xin)
    if fg:
        out4 = out4 * d["alpha"].double()
    e4, a4 = out4[:, :3], out4[:, 3:4]
    items.append(dict(input=xin, composite=(1 - a4) * xin + a4 * e4, greenscreen=a4 * e4 + (1 - a4) * green, alpha=a4))
    if whole is not None:
        xw = whole.double()
        o5 = gen(xw)
        e5, a5 = o5[:, :3], o5[:, 3:4]
        items.append(dict(input=xw, composite=(1 - a5) * xw + a5 * e5, greenscreen=a5 * e5 + (1 - a5) * green, alpha=a5))
    K = len(items)

    # ---- draws: views per item in the engine's order, target rows once per step
    sizes = clip_sizes(VISION["image_size"])
    rng = random.Random(SEEDS["views"] + (0 if fg else 1))
    views, gcount = [], 0
    for it in items:
        ih, iw = it["input"].shape[2:]
        hv, wv = resize_short_side(ih, iw, sizes["view"], sizes["view_max"])
        for _ in range(4):
            views.append(draw_views(rng, N_AUG, ih, iw, hv, wv, gcount, fill=CONFIG["clipAffineTransformFill"]))
            gcount += N_AUG
    indices = [[2, 0, 1], [0, 1], [1, 0]] if fg else [[1, 1, 0], [1, 1], [0, 0]]

    # ---- losses
    lam_b = CONFIG["lambdaBootstrap"] if case["bootstrap"] else 0.0
    weights = [
        CONFIG["lambdaComposition"],
        CONFIG["lambdaComposition"],
        CONFIG["lambdaScreen"],
        CONFIG["lambdaStructure"],
        CONFIG["lambdaSparsity"] * CONFIG["lambdaAlphaL0"],
        CONFIG["lambdaSparsity"] * CONFIG["lambdaAlphaL1"],
        lam_b,
    ]
    relevancy = None
    if case["bootstrap"]:
        blocks = VISION["num_hidden_layers"] - 1 - CONFIG["relevancyNumLayers"]
        relevancy = relevancy_target(vision, items[-1]["input"], targets["bootstrap"], VISION["image_size"], blocks)
    terms = [torch.zeros((), dtype=torch.float64) for _ in TERMS]
    for k, it in enumerate(items):
        parts = item_terms(
            vision, it["input"], it["composite"], it["greenscreen"], it["alpha"], views[4 * k : 4 * k + 4], indices,
            targets, K,
        )
        for j, part in enumerate(parts):
            terms[j] = terms[j] + part
        if k == K - 1 and relevancy is not None:
            size = relevancy.shape[0]
            resized = F.interpolate(it["alpha"], size=(size, size), mode="bilinear", align_corners=False)
            terms[6] = F.mse_loss(resized[0, 0], relevancy) / K
    total = sum(wt * t for wt, t in zip(weights, terms))
    total.backward()

    # ---- stored
    p = f"{name}."
    tensors[p + "crop"] = crop.numpy()
    for i, win in enumerate(windows):
        tensors[p + f"window{i}.grid"] = win["grid"].numpy()
        tensors[p + f"window{i}.alpha"] = win["alpha"].numpy()
        tensors[p + f"window{i}.input"] = win["input"].numpy()
    if whole is not None:
        tensors[p + "whole"] = whole.numpy()
    if relevancy is not None:
        tensors[p + "relevancy"] = relevancy.float().numpy()[None, None]
    for k, it in enumerate(items):
        for key in ("input", "composite", "greenscreen", "alpha"):
            tensors[p + f"item{k}.{key}"] = it[key].detach().float().numpy()
    tensors[p + "terms"] = np.array([t.item() for t in terms], dtype=np.float32)
    tensors[p + "weights"] = np.array(weights, dtype=np.float32)
    tensors[p + "total"] = np.array([total.item()], dtype=np.float32)
    for n, prm in gen.named_parameters():
        tensors[p + f"param.{n}"] = params32[n].numpy()
        tensors[p + f"grad.{n}"] = prm.grad.float().numpy()
    metadata[p + "case"] = json.dumps(dict(case, items=K))
    metadata[p + "views"] = json.dumps(views)
    metadata[p + "indices"] = json.dumps(indices)
    print(
        f"{name}: K = {K}; terms "
        + ", ".join(f"{n} {t.item():.6g}" for n, t in zip(TERMS, terms))
        + f"; total {total.item():.6g}"
    )
    assert all(math.isfinite(t.item()) for t in terms)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "test", "fixtures", "video_step.safetensors"))
    args = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    vision = load_vision()
    g = torch.Generator().manual_seed(SEEDS["targets"])
    targets = dict(
        comp=torch.randn(3, PROJECTION_DIM, generator=g, dtype=torch.float64).float().double(),
        src=torch.randn(2, PROJECTION_DIM, generator=g, dtype=torch.float64).float().double(),
        screen=torch.randn(2, PROJECTION_DIM, generator=g, dtype=torch.float64).float().double(),
        bootstrap=torch.randn(PROJECTION_DIM, generator=g, dtype=torch.float64).float().double(),
    )
    tensors = {f"targets.{k}": v.float().numpy() for k, v in targets.items()}
    metadata = {
        "format": "text2live-web video step oracle v1",
        "source": "tools/video_step_oracle.py",
        "generator": json.dumps(GEN),
        "config": json.dumps(CONFIG),
        "step": str(STEP),
        "seeds": json.dumps(SEEDS),
        "terms_order": json.dumps(TERMS),
        "views_order": "per item (three warps, the direct pass, the whole atlas): composition, direction output, "
        "direction input, screen",
        "sampling": "grid_sample bilinear, padding_mode=border, align_corners=False",
        "compute": "float64 from float32 values; stored as float32",
        "torch_version": torch.__version__,
    }
    for name, case in CASES.items():
        run_case(name, case, vision, targets, tensors, metadata)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    write_safetensors(args.out, tensors, metadata)
    back, meta = read_safetensors(args.out)
    assert meta == metadata and set(back) == set(tensors)
    print(f"wrote {args.out}: {len(tensors)} tensors, {os.path.getsize(args.out) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()

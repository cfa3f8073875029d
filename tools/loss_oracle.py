#!/usr/bin/python3
"""PyTorch oracle for one Text2LIVE image step: every loss term and the generator's gradients (spec §A.5-§A.9).

Developer tool: CI never runs it; its output is committed as test/fixtures/loss_step.safetensors and checked by
src/edit/losses.oracle.test.ts. Needs Debian's torch 1.13 and torchvision 0.14 (python3-torch, python3-torchvision;
the first python3 on PATH may lack them):

    /usr/bin/python3 tools/loss_oracle.py [--out test/fixtures/loss_step.safetensors]

The step
  * Input: a real photo (../shared/data/images/dog-on-bench.png) resized with PIL to 52x40 (W x H), values in
    [0, 1]. Two generator passes as in a full-image step (K = 2, spec §A.8): item 0 is the crop rows 2..37,
    columns 5..48 (36 x 44), item 1 the whole 40 x 52 image.
  * Generator: the skip network of tools/generator_oracle.py (3 scales, 8/8/4 channels, weights from seed 11), BN
    with batch statistics per pass. Renders per spec §A.5: composite = (1-a)*input + a*edit,
    greenscreen = a*edit + (1-a)*(0, 177/255, 64/255).
  * CLIP: the tiny test model (models/tiny-clip/vision_state_dict.safetensors: 56 px, patch 8, 2 blocks), with
    Text2LIVE's positional quirk (spec §A.6.3). Sizes scaled from ViT-B/32's 224 to 56: views Resize(56, max 80),
    structure input Resize(56, max 95), relevancy input 56 x 56.
  * Text targets: random rows (dim 16, seed 12): E_comp 3 rows, E_src 2 rows, E_screen 2 rows, one
    region-of-interest row. They stand in for text embeddings; the losses do not care where rows come from.
  * Augmentations: n_aug = 3 views per CLIP term, with FIXED parameters listed in the metadata key "views" (one
    list of 3 views per request, in the order the engine asks: per item, composition, direction output,
    direction input, screen) and FIXED target rows in "indices" (once per step: composition, direction, screen). The
    views were drawn by the §A.7 law from seed 13, then the feature flags were set by view number g = 0..23 so that
    every feature and most pairs occur: flip if g odd; affine unless g % 4 == 3; perspective if g % 3 == 1;
    colour jitter unless g % 5 == 0 (random order); grayscale if g % 7 == 3. View 0 of each request is the whole
    image (no crop). Fill 1 (white, image mode). The target rows are drawn once per step and shared by both items,
    as the reference's loss calls do (spec §A.6.4, §A.8).
    The views are computed the way the reference computes them: torch.nn.functional.interpolate (bilinear,
    align_corners=False, no antialias) for resizes, and torchvision.transforms.functional.hflip, affine,
    perspective, adjust_brightness/contrast/saturation/hue and rgb_to_grayscale (tensor paths: grid_sample with
    the all-ones mask channel and fill blend), then the CLIP normalization.
  * Losses (spec §A.8, image defaults): composition, direction, screen, structure, sparsity L0/L1 and the
    relevancy bootstrap (last item only, at weight 1/K; relevancy per §A.9 with the last block: relevancy_num_layers
    0 for the 2-block model), at step 3 with bootstrap_epoch 10 and the linear schedule: lambda_b = 10 * (1 - 4/10)
    = 6. bootstrapping_min_cover 0.7: the reference's RandomSizeCrop cuts the same FIXED box ("bootstrap_crop", a
    32 x 41 crop of the full image) out of the alpha and the input before both are resized to 56 x 56 and the
    relevancy map is computed.
  * Stored: the input and both items' inputs, generator parameters, the unweighted loss terms (each already
    divided by K as the reference does), their weights and total, dTotal/d(parameter) for every parameter,
    dTotal/d(composite, greenscreen, alpha) of both items (for alpha: through the sparsity and bootstrap terms
    only, the part that does not pass through the composites), and the relevancy target. All math in float64 from
    float32 values; stored as float32.
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
import torchvision.transforms.functional as TF
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generator_oracle import SkipGenerator, init_weights, read_safetensors, write_safetensors  # noqa: E402
from make_tiny_clip import (  # noqa: E402
    CLIP_MEAN,
    CLIP_STD,
    PROJECTION_DIM,
    VISION,
    CLIPVisionModelWithProjection,
    CLIPVisionTransformer,
    cosine_self_similarity,
    spherical_distance,
    t2l_vision_forward,
)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PHOTO = os.path.join(ROOT, "..", "shared", "data", "images", "dog-on-bench.png")
GREEN = (0.0, 177 / 255, 64 / 255)
JITTER_KINDS = ["brightness", "contrast", "saturation", "hue"]

IMAGE_HW = (40, 52)
CROP = dict(top=2, left=5, height=36, width=44)
GEN = dict(scales=3, down=8, up=8, skip=4)
N_AUG = 3
STEP = 3
CONFIG = dict(
    lambdaComposition=1.0,
    lambdaScreen=1.0,
    lambdaStructure=2.0,
    lambdaSparsity=6.0,
    lambdaAlphaL0=0.01,
    lambdaAlphaL1=0.01,
    lambdaBootstrap=10.0,
    lambdaBootstrapMin=0.0,
    bootstrapEpoch=10,
    bootstrapScheduler="linear",
    relevancyNumLayers=0,
    bootstrappingMinCover=0.7,
    clipAffineTransformFill=1.0,
    nAug=N_AUG,
)
SEEDS = dict(generator=11, targets=12, views=13)
TERMS = ["composition", "direction", "screen", "structure", "sparsityL0", "sparsityL1", "bootstrap"]


# ------------------------------------------------------------------------------------------------------- sizes


def resize_short_side(h, w, size, max_size):
    """torchvision Resize(size, max_size) output (h, w) (spec §A.6.2)."""
    short, long = (h, w) if h <= w else (w, h)
    new_short, new_long = size, int(size * long / short)
    if new_long > max_size:
        new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_short, new_long) if h <= w else (new_long, new_short)


def clip_sizes(image_size):
    scale = image_size / 224
    return dict(view=image_size, view_max=round(320 * scale), structure_max=round(380 * scale))


def resize(x, h, w):
    return F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)


def normalize(x):
    mean = torch.tensor(CLIP_MEAN, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean) / std


# ------------------------------------------------------------------------------------------------------- views


def draw_views(rng, n, h, w, hv, wv, g0, fill=None):
    """n views of an h x w image: the §A.7 law for crops and parameters, then feature flags set by view number;
    fill: the affine/perspective fill (default: this oracle's, 1 for images)."""
    fill = CONFIG["clipAffineTransformFill"] if fill is None else fill
    views = []
    for k in range(n):
        g = g0 + k
        crop = None
        if k > 0:
            s = rng.uniform(0.6, 1.0)
            ch, cw = int(h * s), int(w * s)
            crop = dict(top=rng.randint(0, h - ch), left=rng.randint(0, w - cw), height=ch, width=cw)
        angle = rng.uniform(-15, 15)
        tx = round(rng.uniform(-0.1 * wv, 0.1 * wv))
        ty = round(rng.uniform(-0.1 * hv, 0.1 * hv))
        dx, dy = int(0.4 * (wv // 2)), int(0.4 * (hv // 2))
        tl = [rng.randint(0, dx), rng.randint(0, dy)]
        tr = [rng.randint(wv - dx - 1, wv - 1), rng.randint(0, dy)]
        br = [rng.randint(wv - dx - 1, wv - 1), rng.randint(hv - dy - 1, hv - 1)]
        bl = [rng.randint(0, dx), rng.randint(hv - dy - 1, hv - 1)]
        order = JITTER_KINDS[:]
        rng.shuffle(order)
        jitter = dict(
            order=order,
            brightness=rng.uniform(0.9, 1.1),
            contrast=rng.uniform(0.9, 1.1),
            saturation=rng.uniform(0.9, 1.1),
            hue=rng.uniform(-0.1, 0.1),
        )
        views.append(
            dict(
                crop=crop,
                flip=g % 2 == 1,
                affine=dict(angle=angle, tx=tx, ty=ty) if g % 4 != 3 else None,
                perspective=[tl, tr, br, bl] if g % 3 == 1 else None,
                jitter=jitter if g % 5 != 0 else None,
                grayscale=g % 7 == 3,
                viewH=hv,
                viewW=wv,
                fill=fill,
            )
        )
    return views


def augment(image, params):
    """The normalized views [n, 3, hv, wv] of image [1, 3, H, W] (spec §A.7), by torchvision's tensor functions."""
    _, _, h, w = image.shape
    out = []
    for p in params:
        hv, wv = p["viewH"], p["viewW"]
        c = p["crop"] or dict(top=0, left=0, height=h, width=w)
        v = resize(image[:, :, c["top"] : c["top"] + c["height"], c["left"] : c["left"] + c["width"]], hv, wv)
        fill = [p["fill"]] * 3
        if p["flip"]:
            v = TF.hflip(v)
        if p["affine"]:
            a = p["affine"]
            v = TF.affine(
                v,
                angle=a["angle"],
                translate=[a["tx"], a["ty"]],
                scale=1.0,
                shear=[0.0, 0.0],
                interpolation=TF.InterpolationMode.BILINEAR,
                fill=fill,
            )
        if p["perspective"]:
            start = [[0, 0], [wv - 1, 0], [wv - 1, hv - 1], [0, hv - 1]]
            v = TF.perspective(v, start, p["perspective"], interpolation=TF.InterpolationMode.BILINEAR, fill=fill)
        if p["jitter"]:
            j = p["jitter"]
            for kind in j["order"]:
                if kind == "brightness":
                    v = TF.adjust_brightness(v, j["brightness"])
                elif kind == "contrast":
                    v = TF.adjust_contrast(v, j["contrast"])
                elif kind == "saturation":
                    v = TF.adjust_saturation(v, j["saturation"])
                else:
                    v = TF.adjust_hue(v, j["hue"])
        if p["grayscale"]:
            v = TF.rgb_to_grayscale(v, num_output_channels=3)
        out.append(v)
    return normalize(torch.cat(out, dim=0))


# ------------------------------------------------------------------------------------------------------- models


def load_vision():
    tensors, _ = read_safetensors(os.path.join(ROOT, "models", "tiny-clip", "vision_state_dict.safetensors"))
    vision = CLIPVisionModelWithProjection(
        CLIPVisionTransformer(VISION), torch.nn.Linear(VISION["hidden_size"], PROJECTION_DIM, bias=False)
    )
    state = {k: torch.from_numpy(v.copy()) for k, v in tensors.items()}
    missing, unexpected = vision.load_state_dict(state, strict=False)
    assert not unexpected and all(k.endswith("position_ids") for k in missing), (missing, unexpected)
    vision = vision.double()
    for p in vision.parameters():
        p.requires_grad_(False)
    return vision


def relevancy_target(vision, image, text, size, blocks):
    """Spec §A.9 with the last `blocks` attention blocks (here 1): the min-max normalized relevancy map [S, S]."""
    layers = vision.vision_model.encoder.layers
    assert blocks == 1, "the oracle implements the single-block case the configs use"
    pixels = normalize(resize(image, size, size)).requires_grad_(True)
    last = layers[-1]
    last.self_attn.record = True
    emb, _ = t2l_vision_forward(vision, pixels)
    logit = 100.0 * F.cosine_similarity(emb, text[None], dim=-1).sum()
    logit.backward()
    probs, grad = last.self_attn.probs[0], last.self_attn.probs.grad[0]
    last.self_attn.record = False
    cam = (grad * probs).clamp(min=0).mean(dim=0)
    grid = size // VISION["patch_size"]
    rel = F.interpolate(cam[0, 1:].reshape(1, 1, grid, grid), size=(size, size), mode="bilinear", align_corners=False)
    rel = rel[0, 0]
    return ((rel - rel.min()) / (rel.max() - rel.min())).detach()


def bootstrap_weight(step):
    c = CONFIG
    return max(c["lambdaBootstrapMin"], c["lambdaBootstrap"] * (1 - (step + 1) / c["bootstrapEpoch"]))


def cut(x, box):
    return x[:, :, box["top"] : box["top"] + box["height"], box["left"] : box["left"] + box["width"]]


# ------------------------------------------------------------------------------------------------------- losses


def item_terms(vision, x, composite, greenscreen, alpha, views4, indices, targets, K):
    """One item's shares of the composition, direction, screen, structure and sparsity L0/L1 terms (spec §A.8), each
    divided by K; views4: the item's view requests (composition, direction output, direction input, screen);
    indices: the step's target rows (composition, direction, screen); targets: dict comp, src, screen."""
    comp, src, screen = targets["comp"], targets["src"], targets["screen"]
    sizes = clip_sizes(VISION["image_size"])
    layers = VISION["num_hidden_layers"]
    v_comp, v_out, v_in, v_screen = views4
    i_comp, i_dir, i_screen = indices

    e = t2l_vision_forward(vision, augment(composite, v_comp))[0]
    t_comp = spherical_distance(e[:, None, :], comp[i_comp][None, :, :]).mean() / K

    e_out = t2l_vision_forward(vision, augment(composite, v_out))[0]
    with torch.no_grad():
        e_in = t2l_vision_forward(vision, augment(x, v_in))[0]
    dirs = comp[i_dir] - src[i_dir]
    cos = F.cosine_similarity((e_out - e_in)[:, None, :], dirs[None, :, :], dim=-1, eps=1e-8)
    t_dir = (1 - cos).mean() / K

    e = t2l_vision_forward(vision, augment(greenscreen, v_screen))[0]
    t_screen = spherical_distance(e[:, None, :], screen[i_screen][None, :, :]).mean() / K

    hs, ws = resize_short_side(x.shape[2], x.shape[3], sizes["view"], sizes["structure_max"])
    tokens_out = t2l_vision_forward(vision, normalize(resize(composite, hs, ws)))[1][layers - 1][0]
    with torch.no_grad():
        tokens_in = t2l_vision_forward(vision, normalize(resize(x, hs, ws)))[1][layers - 1][0]
    s_out, s_in = cosine_self_similarity(tokens_out), cosine_self_similarity(tokens_in)
    t_struct = F.mse_loss(s_out, s_in) / K

    t_l0 = (2 * torch.sigmoid(5 * alpha) - 1).mean() / K
    t_l1 = alpha.mean() / K
    return [t_comp, t_dir, t_screen, t_struct, t_l0, t_l1]


# ------------------------------------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "test", "fixtures", "loss_step.safetensors"))
    args = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    # ---- input
    h, w = IMAGE_HW
    photo = Image.open(PHOTO).convert("RGB").resize((w, h), Image.BILINEAR)
    image = torch.from_numpy(np.asarray(photo, dtype=np.float32) / 255.0).permute(2, 0, 1)[None].contiguous()
    c = CROP
    crop = image[:, :, c["top"] : c["top"] + c["height"], c["left"] : c["left"] + c["width"]].contiguous()
    inputs = [crop.double(), image.double()]
    K = len(inputs)

    # ---- models
    vision = load_vision()
    gen = SkipGenerator(**GEN)
    init_weights(gen, SEEDS["generator"])
    params32 = {n: p.detach().clone() for n, p in gen.named_parameters()}
    gen = gen.double()

    g = torch.Generator().manual_seed(SEEDS["targets"])
    comp = torch.randn(3, PROJECTION_DIM, generator=g, dtype=torch.float64).float().double()
    src = torch.randn(2, PROJECTION_DIM, generator=g, dtype=torch.float64).float().double()
    screen = torch.randn(2, PROJECTION_DIM, generator=g, dtype=torch.float64).float().double()
    roi = torch.randn(PROJECTION_DIM, generator=g, dtype=torch.float64).float().double()

    sizes = clip_sizes(VISION["image_size"])
    rng = random.Random(SEEDS["views"])
    views, indices = [], []
    gcount = 0
    for x in inputs:
        _, _, ih, iw = x.shape
        hv, wv = resize_short_side(ih, iw, sizes["view"], sizes["view_max"])
        for _ in range(4):  # composition, direction output, direction input, screen
            views.append(draw_views(rng, N_AUG, ih, iw, hv, wv, gcount))
            gcount += N_AUG
    indices = [[0, 2, 2], [1, 0], [1, 1]]  # once per step, shared by both items: composition, direction, screen
    # RandomSizeCrop(0.7) of the full image (40 x 52): s = 0.8 -> int(40 * 0.8) x int(52 * 0.8) = 32 x 41.
    bootstrap_crop = dict(top=5, left=7, height=32, width=41)

    # ---- forward
    lam_b = bootstrap_weight(STEP)
    weights = [
        CONFIG["lambdaComposition"],
        CONFIG["lambdaComposition"],
        CONFIG["lambdaScreen"],
        CONFIG["lambdaStructure"],
        CONFIG["lambdaSparsity"] * CONFIG["lambdaAlphaL0"],
        CONFIG["lambdaSparsity"] * CONFIG["lambdaAlphaL1"],
        lam_b,
    ]
    layers = VISION["num_hidden_layers"]
    blocks = layers - 1 - CONFIG["relevancyNumLayers"]
    relevancy = relevancy_target(vision, cut(inputs[-1], bootstrap_crop), roi, VISION["image_size"], blocks)

    green = torch.tensor(GREEN, dtype=torch.float64).view(1, 3, 1, 1)
    targets = dict(comp=comp, src=src, screen=screen)
    renders = []
    terms = [torch.zeros((), dtype=torch.float64) for _ in TERMS]
    for k, x in enumerate(inputs):
        out = gen(x)
        edit, alpha_render = out[:, :3], out[:, 3:4]
        composite = (1 - alpha_render) * x + alpha_render * edit
        greenscreen = alpha_render * edit + (1 - alpha_render) * green
        # The sparsity and bootstrap terms see alpha through their own node, so its .grad is the loss's direct
        # gradient (what the engine accumulates for alpha), not the total through the composites.
        alpha = alpha_render.clone()
        for t in (composite, greenscreen, alpha):
            t.retain_grad()
        renders.append(dict(composite=composite, greenscreen=greenscreen, alpha=alpha))
        parts = item_terms(vision, x, composite, greenscreen, alpha, views[4 * k : 4 * k + 4], indices, targets, K)
        for j, part in enumerate(parts):
            terms[j] = terms[j] + part
        if k == K - 1:  # the quirk: assigned, not accumulated, then divided by K
            size = relevancy.shape[0]
            terms[6] = F.mse_loss(resize(cut(alpha, bootstrap_crop), size, size)[0, 0], relevancy) / K

    total = sum(wt * t for wt, t in zip(weights, terms))
    total.backward()

    tensors = {"image": image.numpy(), "relevancy": relevancy.float().numpy()[None, None]}
    for k, x in enumerate(inputs):
        tensors[f"item{k}.input"] = x.float().numpy()
        for name, t in renders[k].items():
            tensors[f"item{k}.{name}"] = t.detach().float().numpy()
            tensors[f"item{k}.grad.{name}"] = t.grad.float().numpy()
    tensors["targets.comp"] = comp.float().numpy()
    tensors["targets.src"] = src.float().numpy()
    tensors["targets.screen"] = screen.float().numpy()
    tensors["targets.bootstrap"] = roi.float().numpy()
    tensors["terms"] = np.array([t.item() for t in terms], dtype=np.float32)
    tensors["weights"] = np.array(weights, dtype=np.float32)
    tensors["total"] = np.array([total.item()], dtype=np.float32)
    names = [n for n, _ in gen.named_parameters()]
    for n, p in gen.named_parameters():
        tensors[f"param.{n}"] = params32[n].numpy()
        tensors[f"grad.{n}"] = p.grad.float().numpy()

    metadata = {
        "format": "text2live-web loss oracle v2",
        "source": "tools/loss_oracle.py",
        "photo": "../shared/data/images/dog-on-bench.png, PIL bilinear resize to 52x40",
        "crop": json.dumps(CROP),
        "generator": json.dumps(GEN),
        "config": json.dumps(CONFIG),
        "step": str(STEP),
        "seeds": json.dumps(SEEDS),
        "clip_sizes": json.dumps(sizes),
        "views": json.dumps(views),
        "views_order": "per item (crop, then full image): composition, direction output, direction input, screen",
        "indices": json.dumps(indices),
        "indices_order": "once per step, shared by both items: composition rows of targets.comp, direction pairs "
        "(comp[i] - src[i]), screen rows",
        "bootstrap_crop": json.dumps(bootstrap_crop),
        "terms_order": json.dumps(TERMS),
        "terms": "unweighted, each already divided by K = 2 as the reference does; total = sum(weights * terms)",
        "param_names": json.dumps(names),
        "compute": "float64 from float32 values (photo, weights, targets); stored as float32",
        "torch_version": torch.__version__,
        "torchvision_version": __import__("torchvision").__version__,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    write_safetensors(args.out, tensors, metadata)
    back, meta = read_safetensors(args.out)
    assert meta == metadata and set(back) == set(tensors)
    print(f"wrote {args.out}: {len(tensors)} tensors, {os.path.getsize(args.out) / 1e6:.2f} MB")
    print("terms: " + ", ".join(f"{n} {t.item():.6g}" for n, t in zip(TERMS, terms)) + f"; total {total.item():.6g}")
    print(f"bootstrap weight {lam_b}; views: {len(views)} requests x {N_AUG}")
    worst = max(math.fabs(v) for v in tensors["terms"])
    assert worst > 0 and all(math.isfinite(v) for v in tensors["terms"])


if __name__ == "__main__":
    main()

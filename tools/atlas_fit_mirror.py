#!/usr/bin/python3
"""CPU mirror of a whole layered-atlas fit: the same model, losses, batches, Adam and schedules as the engine's
AtlasFitter (src/video/atlas/atlasFit.ts), in PyTorch float32 with tools/atlas_model.py, whose single iteration
src/video/atlas/atlasLosses.oracle.test.ts checks against the engine within 1e-3. Its use: the figures of a
3000-iteration fit in minutes on this 2-core machine, where the engine on SwiftShader needs ~15 s per iteration, and
the effect of a setting without a GPU. It writes atlas.safetensors in the engine's format, so the engine's own
evaluation measures it:

    npx tsx tools/atlas_mirror_inputs.ts --out /tmp/inputs.safetensors         # the clip, masks and WGSL flows
    /usr/bin/python3 tools/atlas_fit_mirror.py /tmp/inputs.safetensors --out /tmp/mirror [--iters 3000]
        [--masks given|auto|none] [--config overrides.json] [--seed 0] [--log-every 100] [--threads 2]
    npm run bench -- atlas --eval-only /tmp/mirror/atlas.safetensors --out /tmp/mirror/eval --json /tmp/mirror/eval.json

Not bit-identical to the engine (its own random draws, float32 CPU arithmetic, PyTorch's initialisation stream); the
same design, weights and schedules. Developer tool: CI never runs it.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from atlas_model import RECIPE_WEIGHTS, TERMS, AtlasTorch, atlas_losses, mlp_sizes  # noqa: E402
from generator_oracle import read_safetensors, write_safetensors  # noqa: E402

# DEFAULT_ATLAS_CONFIG (src/video/atlas/atlasConfig.ts); the pyramid sizes follow the width as pyramidResolutions.
DEFAULTS = {
    "iterations": 3000,
    "batch": 10000,
    "rigidityBatch": 2500,
    "flowBatch": 5000,
    "mappingWidth": 64,
    "alphaWidth": 32,
    "hiddenLayers": 3,
    "alphaOctaves": 6,
    # The engine's default: the recipe's weights with the flow term at 20 (atlasConfig.ts says why).
    "weights": dict(RECIPE_WEIGHTS, flow=20),
    "bootstrapIterations": 1000,
    "globalRigidityPixels": 48,
    "lrMlp": 1e-3,
    "lrTexture": 5e-3,
    "lrDecay": 0.1,
    "lrDecayEvery": 10000,
    "backgroundOnly": False,
    "seed": 0,
}
LAST_LAYER_SCALE = 1e-3
PSNR_PIXELS = 8192


def pyramid_resolutions(width):
    bg = 2048 if width > 384 else 1024 if width > 192 else 512 if width > 96 else 256
    return bg, bg // 2


def init_params(cfg, gen):
    params = {}

    def u(shape, bound):
        return (torch.rand(shape, generator=gen) * 2 - 1) * bound

    def mlp(name, inp, hidden, out, last_scale):
        sizes = mlp_sizes(inp, hidden, cfg["hiddenLayers"], out)
        for k in range(len(sizes) - 1):
            bound = 1 / math.sqrt(sizes[k]) * (last_scale if k == len(sizes) - 2 else 1)
            params[f"{name}.{k}.weight"] = u((sizes[k + 1], sizes[k]), bound)
            params[f"{name}.{k}.bias"] = u((sizes[k + 1],), bound)

    def pyramid(name, top, fill):
        r = 16
        while r <= top:
            params[f"{name}.atlas.level{r}"] = torch.full((3, r, r), fill if r == 16 else 0.0)
            r *= 2

    mlp("background.mapping", 3, cfg["mappingWidth"], 2, LAST_LAYER_SCALE)
    pyramid("background", cfg["backgroundResolution"], 0.5)
    if not cfg["backgroundOnly"]:
        mlp("foreground.mapping", 3, cfg["mappingWidth"], 2, LAST_LAYER_SCALE)
        pyramid("foreground", cfg["foregroundResolution"], 0.0)
        mlp("alpha", 3 * (1 + 2 * cfg["alphaOctaves"]), cfg["alphaWidth"], 1, 1)
    for p in params.values():
        p.requires_grad_(True)
    return params


class Clip:
    def __init__(self, tensors, meta, use_masks):
        g = json.loads(meta["geometry"])
        self.width, self.height, self.frames = g["width"], g["height"], g["frames"]
        self.frame_indices = json.loads(meta["frameIndices"])
        self.rgb = torch.tensor(np.array(tensors["frames"]))  # [F, H, W, 3]
        key = {"given": "masks", "auto": "autoMasks"}.get(use_masks)
        self.masks = torch.tensor(np.array(tensors[key])) if key and key in tensors else None
        self.flows = {k: torch.tensor(np.array(tensors[f"flows.{k}"])) for k in ("forward", "backward", "forwardValid", "backwardValid")}

    def coords(self, t, px, py):
        w, h, f = self.width, self.height, self.frames
        x = (px.float() + 0.5 - w / 2) * 2 / w
        y = (py.float() + 0.5 - h / 2) * 2 / w
        tt = 2 * t.float() / (f - 1) - 1 if f > 1 else torch.zeros_like(x)
        return torch.stack([x, y, tt], dim=1)

    def draw(self, gen, n, r, m, global_pixels):
        w, h, f = self.width, self.height, self.frames
        t = torch.randint(0, f, (n,), generator=gen)
        px = torch.randint(0, w, (n,), generator=gen)
        py = torch.randint(0, h, (n,), generator=gen)
        coords = self.coords(t, px, py)
        q = py * w + px
        no = torch.full_like(q, 0xFFFFFFFF)
        step = 2.0 / w

        def shifted(s, axis):
            out = coords[:r].clone()
            out[:, axis] += s
            return out

        return {
            "coords": coords,
            "rgb": self.rgb[t, py, px],
            "mask": None if self.masks is None else self.masks[t, py, px],
            "rigidity": {
                "coords": coords[:r],
                "dx": shifted(step, 0),
                "dy": shifted(step, 1),
                "globalDx": shifted(global_pixels * step, 0),
                "globalDy": shifted(global_pixels * step, 1),
            },
            "forwardIndex": torch.where(t < f - 1, t * w * h + q, no)[:m],
            "backwardIndex": torch.where(t > 0, (t - 1) * w * h + q, no)[:m],
        }


def save_atlas(path, params, cfg, clip, iterations):
    tensors = {k: v.detach().numpy() for k, v in params.items()}
    metadata = {
        "format": "text2live-atlas-v1",
        "geometry": json.dumps({"width": clip.width, "height": clip.height, "frames": clip.frames}),
        "config": json.dumps(cfg),
        "iterations": str(iterations),
        "frameRate": "24",
        "frameIndices": json.dumps(clip.frame_indices),
        "fittedBy": "tools/atlas_fit_mirror.py",
    }
    tmp = path + ".tmp"
    write_safetensors(tmp, tensors, metadata)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("inputs")
    ap.add_argument("--out", required=True)
    ap.add_argument("--iters", type=int, default=3000)
    ap.add_argument("--masks", choices=["given", "auto", "none"], default="given")
    ap.add_argument("--config")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-every", type=int, default=100)
    ap.add_argument("--checkpoint-every", type=int, default=500)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    tensors, meta = read_safetensors(args.inputs)
    clip = Clip(tensors, meta, args.masks)
    bg, fg = pyramid_resolutions(clip.width)
    overrides = json.load(open(args.config)) if args.config else {}
    cfg = dict(DEFAULTS, backgroundResolution=bg, foregroundResolution=fg, iterations=args.iters, seed=args.seed)
    cfg.update({k: v for k, v in overrides.items() if k != "weights"})
    cfg["weights"] = dict(DEFAULTS["weights"], **overrides.get("weights", {}))
    # As chooseLayers: one layer when asked or when there is no mask to tell the layers apart.
    if clip.masks is None:
        cfg["backgroundOnly"] = True
    os.makedirs(args.out, exist_ok=True)

    gen = torch.Generator().manual_seed(args.seed)
    params = init_params(cfg, gen)
    model = AtlasTorch(params, cfg)
    mlp = [v for k, v in params.items() if ".atlas." not in k]
    tex = [v for k, v in params.items() if ".atlas." in k]
    opt = torch.optim.Adam(
        [{"params": mlp, "lr": cfg["lrMlp"]}, {"params": tex, "lr": cfg["lrTexture"]}], betas=(0.9, 0.99), eps=1e-8
    )
    fixed = clip.draw(torch.Generator().manual_seed(args.seed + 1), PSNR_PIXELS, 0, 0, 0)
    draw_gen = torch.Generator().manual_seed(args.seed ^ 0x9E3779B9)
    log = {"config": cfg, "inputs": args.inputs, "progress": []}
    t0 = time.time()
    for it in range(args.iters):
        scale = cfg["lrDecay"] ** (it / cfg["lrDecayEvery"])
        opt.param_groups[0]["lr"] = cfg["lrMlp"] * scale
        opt.param_groups[1]["lr"] = cfg["lrTexture"] * scale
        batch = clip.draw(draw_gen, cfg["batch"], cfg["rigidityBatch"], cfg["flowBatch"], cfg["globalRigidityPixels"])
        opt.zero_grad(set_to_none=True)
        total, terms, _ = atlas_losses(model, batch, clip.flows, (clip.width, clip.height, clip.frames), it)
        total.backward()
        opt.step()
        done = it + 1
        if done % args.log_every == 0 or done == args.iters:
            with torch.no_grad():
                err = ((model.reconstruct(fixed["coords"]) - fixed["rgb"]) ** 2).mean().item()
            entry = {
                "iteration": done,
                "psnr": 10 * math.log10(1 / max(err, 1e-12)),
                "terms": {k: float(terms[k]) if k in terms else 0.0 for k in TERMS},
                "seconds": time.time() - t0,
            }
            log["progress"].append(entry)
            print(
                f"iteration {done}: PSNR ~ {entry['psnr']:.2f} dB "
                + " ".join(f"{k} {v:.4g}" for k, v in entry["terms"].items())
                + f" ({entry['seconds'] / done:.3f} s/it)",
                flush=True,
            )
            with open(os.path.join(args.out, "log.json"), "w") as f:
                json.dump(log, f, indent=1)
        if (args.checkpoint_every and done % args.checkpoint_every == 0) or done == args.iters:
            save_atlas(os.path.join(args.out, "atlas.safetensors"), params, cfg, clip, done)
    print(f"fitted {args.iters} iterations in {time.time() - t0:.0f} s; wrote {args.out}/atlas.safetensors")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Write a CLIP vision tower with real dimensions and random weights, for benchmarks (never for the tests).

Developer tool, never run by CI. Needs Debian's torch 1.13 and onnx (python3-torch, python3-onnx):

    /usr/bin/python3 tools/make_clip_like.py [--preset vit-b-32] [--out bench-results/clip-vit-b-32] [--seed N]

What it writes (the transformers.js / Hugging Face hub layout of Xenova/clip-vit-base-patch32, vision part only):

    config.json                 HF CLIPConfig with the preset's vision_config (no text_config: vision only)
    onnx/vision_model.onnx      pixel_values [batch,3,S,S] -> image_embeds [batch,P], last_hidden_state [batch,N,D]

The model classes, the weight initialisation and the ONNX export (opset 14, same node names, anonymous transposed
MatMul weights, decomposed LayerNorm) are those of tools/make_tiny_clip.py, imported from it: only the sizes differ.
The vit-b-32 file is ~350 MB (88 M float32 parameters): write it under a git-ignored folder (bench-results/ is
ignored) or /tmp, never commit it. `npm run bench -- clip --model DIR` reads it.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_tiny_clip import (  # noqa: E402  (after the path tweak)
    LOGIT_SCALE_INIT,
    PROJECTION_DIM,
    VISION,
    CLIPVisionModelWithProjection,
    CLIPVisionTransformer,
    export_onnx,
    init_weights,
    synthetic_image,
)

ROOT = Path(__file__).resolve().parent.parent

# Hugging Face CLIPVisionConfig names; projection_dim is the CLIPConfig's.
VIT_B_32 = dict(
    image_size=224,
    patch_size=32,
    hidden_size=768,
    num_hidden_layers=12,
    num_attention_heads=12,
    intermediate_size=3072,
    layer_norm_eps=1e-5,
    num_channels=3,
    projection_dim=512,
)
PRESETS = {
    "vit-b-32": VIT_B_32,
    "vit-b-16": dict(VIT_B_32, patch_size=16),
    # The tiny test model's vision sizes (a quick check of this tool).
    "tiny": dict(VISION, projection_dim=PROJECTION_DIM),
}


def build_vision(cfg, seed):
    vision = CLIPVisionModelWithProjection(
        CLIPVisionTransformer(cfg), nn.Linear(cfg["hidden_size"], cfg["projection_dim"], bias=False)
    )
    init_weights(vision, seed)
    return vision.eval()


def config_json(preset, cfg, seed):
    return {
        "_clip_like_note": f"random weights from tools/make_clip_like.py --preset {preset} --seed {seed}; "
        "real CLIP vision dimensions, for benchmarks only",
        "architectures": ["CLIPModel"],
        "initializer_factor": 1.0,
        "logit_scale_init_value": LOGIT_SCALE_INIT,
        "model_type": "clip",
        "projection_dim": cfg["projection_dim"],
        "torch_dtype": "float32",
        "vision_config": {
            "attention_dropout": 0.0,
            "dropout": 0.0,
            "hidden_act": "quick_gelu",
            "hidden_size": cfg["hidden_size"],
            "image_size": cfg["image_size"],
            "initializer_factor": 1.0,
            "initializer_range": 0.02,
            "intermediate_size": cfg["intermediate_size"],
            "layer_norm_eps": cfg["layer_norm_eps"],
            "model_type": "clip_vision_model",
            "num_attention_heads": cfg["num_attention_heads"],
            "num_channels": cfg["num_channels"],
            "num_hidden_layers": cfg["num_hidden_layers"],
            "patch_size": cfg["patch_size"],
            "projection_dim": cfg["projection_dim"],
            "torch_dtype": "float32",
        },
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="vit-b-32")
    parser.add_argument("--out", type=Path, help="output folder (default: bench-results/clip-<preset>)")
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()
    cfg = PRESETS[args.preset]
    out = args.out or ROOT / "bench-results" / f"clip-{args.preset}"
    (out / "onnx").mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)

    t0 = time.time()
    vision = build_vision(cfg, args.seed)
    params = sum(p.numel() for p in vision.parameters())
    size, patch = cfg["image_size"], cfg["patch_size"]
    example = synthetic_image(torch.Generator().manual_seed(args.seed + 1), size, size).repeat(2, 1, 1, 1)
    path = out / "onnx" / "vision_model.onnx"
    export_onnx(
        vision,
        (example,),
        path,
        ["pixel_values"],
        ["image_embeds", "last_hidden_state"],
        {"pixel_values": {0: "batch_size"}, "image_embeds": {0: "batch_size"}, "last_hidden_state": {0: "batch_size"}},
        {"last_hidden_state": ["batch_size", (size // patch) ** 2 + 1, cfg["hidden_size"]]},
    )
    (out / "config.json").write_text(json.dumps(config_json(args.preset, cfg, args.seed), indent=2) + "\n")
    print(f"{args.preset}: {params:,} parameters, {time.time() - t0:.1f} s")
    for p in (out / "config.json", path):
        print(f"{p}: {p.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Build the tiny random-weight CLIP used by the tests: models/tiny-clip/.

Developer tool, never run by CI. Needs Debian's torch 1.13 and onnx (python3-torch, python3-onnx):

    /usr/bin/python3 tools/make_tiny_clip.py [--tokenizer-dir ../shared/data/tokenizer] [--out models/tiny-clip]

What it writes (transformers.js / Hugging Face hub layout, like Xenova/clip-vit-base-patch32):

    config.json                      HF CLIPConfig, tiny sizes
    preprocessor_config.json         the real one with the sizes set to 56
    tokenizer.json, tokenizer_config.json, vocab.json, merges.txt, special_tokens_map.json   real CLIP tokenizer
    onnx/vision_model.onnx           pixel_values [batch,3,56,56] -> image_embeds [batch,16], last_hidden_state
    onnx/vision_model_fp16.onnx      the same graph, fp16 initializers/constants, fp32 inputs/outputs (Cast nodes)
    onnx/text_model.onnx             input_ids int64 [batch,sequence] -> text_embeds [batch,16], last_hidden_state
    vision_state_dict.safetensors    PyTorch state_dict of CLIPVisionModelWithProjection (float32)
    reference.safetensors            reference outputs of the Text2LIVE-modified ViT (spec A.6/A.8/A.9), float32

The model is our own PyTorch code with the module names and semantics of Hugging Face's CLIPModel (so the ONNX node
names come out as in real exports: `/vision_model/encoder/layers.0/self_attn/q_proj/MatMul`, with the transposed
Linear weights as anonymous `onnx::MatMul_N` initializers). It is exported with opset 14, where torch decomposes
LayerNorm into ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add (as the real optimum exports at opset 14 do).

The references are computed in float64 from the float32 weights (so they are the exact math on the stored weights,
rounded once to float32 when saved).
"""

import argparse
import json
import math
import shutil
import struct
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
SEED = 20240611
OPSET = 14

VISION = dict(
    image_size=56,
    patch_size=8,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=128,
    layer_norm_eps=1e-5,
    num_channels=3,
)
TEXT = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=128,
    vocab_size=49408,
    max_position_embeddings=77,
    layer_norm_eps=1e-5,
)
PROJECTION_DIM = 16
LOGIT_SCALE_INIT = 2.6592  # HF config value; the relevancy reference uses the trained OpenAI scale 100 (spec A.6.1)
RELEVANCY_LOGIT_SCALE = 100.0
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
SOT, EOT = 49406, 49407
PROMPTS = ["a photo of golden horse.", "horse", "fire over a green screen."]
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json"]


# ----------------------------------------------------------------------------------------------------------------
# Model: Hugging Face CLIPModel module names and semantics (our own code).
# ----------------------------------------------------------------------------------------------------------------


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class CLIPAttention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.num_heads = heads
        self.head_dim = hidden // heads
        self.scale = self.head_dim**-0.5
        self.q_proj = nn.Linear(hidden, hidden)
        self.k_proj = nn.Linear(hidden, hidden)
        self.v_proj = nn.Linear(hidden, hidden)
        self.out_proj = nn.Linear(hidden, hidden)
        self.record = False  # keep the attention probabilities (for relevancy), with their gradient retained
        self.probs = None

    def forward(self, x, mask=None):
        b, n, d = x.shape
        h, hd = self.num_heads, self.head_dim
        q = (self.q_proj(x) * self.scale).view(b, n, h, hd).transpose(1, 2)  # [b,h,n,hd]
        k = self.k_proj(x).view(b, n, h, hd).transpose(1, 2)
        v = self.v_proj(x).view(b, n, h, hd).transpose(1, 2)
        logits = torch.matmul(q, k.transpose(-1, -2))  # [b,h,n,n]
        if mask is not None:
            logits = logits + mask
        probs = torch.softmax(logits, dim=-1)
        if self.record:
            probs.retain_grad()
            self.probs = probs
        out = torch.matmul(probs, v).transpose(1, 2).reshape(b, n, d)
        return self.out_proj(out)


class CLIPMLP(nn.Module):
    def __init__(self, hidden, inter):
        super().__init__()
        self.fc1 = nn.Linear(hidden, inter)
        self.activation_fn = QuickGELU()
        self.fc2 = nn.Linear(inter, hidden)

    def forward(self, x):
        return self.fc2(self.activation_fn(self.fc1(x)))


class CLIPEncoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["hidden_size"]
        self.self_attn = CLIPAttention(d, cfg["num_attention_heads"])
        self.layer_norm1 = nn.LayerNorm(d, eps=cfg["layer_norm_eps"])
        self.mlp = CLIPMLP(d, cfg["intermediate_size"])
        self.layer_norm2 = nn.LayerNorm(d, eps=cfg["layer_norm_eps"])

    def forward(self, x, mask=None):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class CLIPEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.ModuleList([CLIPEncoderLayer(cfg) for _ in range(cfg["num_hidden_layers"])])

    def forward(self, x, mask=None):
        for layer in self.layers:
            x = layer(x, mask)
        return x


class CLIPVisionEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, p = cfg["hidden_size"], cfg["patch_size"]
        self.patch_size = p
        self.class_embedding = nn.Parameter(torch.zeros(d))
        self.patch_embedding = nn.Conv2d(cfg["num_channels"], d, kernel_size=p, stride=p, bias=False)
        self.num_patches = (cfg["image_size"] // p) ** 2
        self.num_positions = self.num_patches + 1
        self.position_embedding = nn.Embedding(self.num_positions, d)
        self.register_buffer("position_ids", torch.arange(self.num_positions).unsqueeze(0), persistent=False)

    def forward(self, pixel_values):
        b = pixel_values.shape[0]
        patches = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)  # [b, grid*grid, d], row-major
        cls = self.class_embedding.expand(b, 1, -1)
        x = torch.cat([cls, patches], dim=1)
        return x + self.position_embedding(self.position_ids)


class CLIPVisionTransformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["hidden_size"]
        self.embeddings = CLIPVisionEmbeddings(cfg)
        self.pre_layrnorm = nn.LayerNorm(d, eps=cfg["layer_norm_eps"])  # sic: HF's spelling
        self.encoder = CLIPEncoder(cfg)
        self.post_layernorm = nn.LayerNorm(d, eps=cfg["layer_norm_eps"])

    def forward(self, pixel_values):
        x = self.pre_layrnorm(self.embeddings(pixel_values))
        last_hidden_state = self.encoder(x)
        pooled = self.post_layernorm(last_hidden_state[:, 0, :])
        return last_hidden_state, pooled


class CLIPTextEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["hidden_size"]
        self.token_embedding = nn.Embedding(cfg["vocab_size"], d)
        self.position_embedding = nn.Embedding(cfg["max_position_embeddings"], d)
        self.register_buffer(
            "position_ids", torch.arange(cfg["max_position_embeddings"]).unsqueeze(0), persistent=False
        )

    def forward(self, input_ids):
        n = input_ids.shape[-1]
        return self.token_embedding(input_ids) + self.position_embedding(self.position_ids[:, :n])


class CLIPTextTransformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = CLIPTextEmbeddings(cfg)
        self.encoder = CLIPEncoder(cfg)
        self.final_layer_norm = nn.LayerNorm(cfg["hidden_size"], eps=cfg["layer_norm_eps"])

    def forward(self, input_ids):
        x = self.embeddings(input_ids)
        n = input_ids.shape[-1]
        mask = torch.full((n, n), torch.finfo(x.dtype).min, dtype=x.dtype).triu(1)[None, None]  # causal
        last_hidden_state = self.final_layer_norm(self.encoder(x, mask))
        # EOT pooling: the EOT token has the largest id (argmax on int32, as HF does for ONNX-friendliness).
        eot = input_ids.to(torch.int32).argmax(dim=-1)
        pooled = last_hidden_state[torch.arange(last_hidden_state.shape[0]), eot]
        return last_hidden_state, pooled


class CLIPVisionModelWithProjection(nn.Module):
    def __init__(self, vision_model, visual_projection):
        super().__init__()
        self.vision_model = vision_model
        self.visual_projection = visual_projection

    def forward(self, pixel_values):
        last_hidden_state, pooled = self.vision_model(pixel_values)
        return self.visual_projection(pooled), last_hidden_state


class CLIPTextModelWithProjection(nn.Module):
    def __init__(self, text_model, text_projection):
        super().__init__()
        self.text_model = text_model
        self.text_projection = text_projection

    def forward(self, input_ids):
        last_hidden_state, pooled = self.text_model(input_ids)
        return self.text_projection(pooled), last_hidden_state


class CLIPModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.text_model = CLIPTextTransformer(TEXT)
        self.vision_model = CLIPVisionTransformer(VISION)
        self.visual_projection = nn.Linear(VISION["hidden_size"], PROJECTION_DIM, bias=False)
        self.text_projection = nn.Linear(TEXT["hidden_size"], PROJECTION_DIM, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(LOGIT_SCALE_INIT))

    def vision(self):
        return CLIPVisionModelWithProjection(self.vision_model, self.visual_projection)

    def text(self):
        return CLIPTextModelWithProjection(self.text_model, self.text_projection)


def init_weights(model, seed):
    """Random weights, scaled so the activations stay O(1); LayerNorm affine parameters perturbed."""
    g = torch.Generator().manual_seed(seed)

    def randn(*shape, std=1.0):
        return torch.randn(*shape, generator=g) * std

    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "logit_scale":
                continue
            if "layer_norm" in name or "layrnorm" in name or "layernorm" in name:
                p.copy_(1.0 + randn(*p.shape, std=0.2) if name.endswith("weight") else randn(*p.shape, std=0.1))
            elif name.endswith("class_embedding"):
                p.copy_(randn(*p.shape, std=1.0))
            elif name.endswith("patch_embedding.weight"):
                fan_in = p.shape[1] * p.shape[2] * p.shape[3]
                p.copy_(randn(*p.shape, std=1.0 / math.sqrt(fan_in)))
            elif name.endswith("position_embedding.weight"):
                p.copy_(randn(*p.shape, std=0.5))
            elif name.endswith("token_embedding.weight"):
                p.copy_(randn(*p.shape, std=1.0))
            elif name.endswith(".bias"):
                p.copy_(randn(*p.shape, std=0.1))
            elif name.endswith(".weight"):  # Linear [out, in]
                p.copy_(randn(*p.shape, std=1.0 / math.sqrt(p.shape[1])))
            else:
                raise RuntimeError(f"uninitialized parameter {name}")


# ----------------------------------------------------------------------------------------------------------------
# Text2LIVE's modified ViT (spec A.6.3): positional-embedding interpolation quirk for non-square inputs.
# ----------------------------------------------------------------------------------------------------------------


def t2l_position_embedding(table, height, width, patch):
    """Positional table for an input of `height` x `width` pixels, as Text2LIVE's modified ViT builds it."""
    grid = int(round(math.sqrt(table.shape[0] - 1)))
    hp, wp = height // patch, width // patch
    if hp * wp == grid * grid and height == width:
        return table
    d = table.shape[1]
    a = wp + 0.1  # width count -> scale of the grid's FIRST (row) axis   [the quirk]
    b = hp + 0.1  # height count -> scale of the grid's SECOND (column) axis
    grid_table = table[1:].reshape(1, grid, grid, d).permute(0, 3, 1, 2)
    resampled = F.interpolate(grid_table, scale_factor=(a / grid, b / grid), mode="bicubic", align_corners=False)
    assert resampled.shape[-2:] == (wp, hp), resampled.shape
    manual = bicubic_resample(table[1:].reshape(grid, grid, d), a / grid, b / grid, wp, hp)
    assert torch.allclose(resampled[0].permute(1, 2, 0), manual, atol=1e-12), "bicubic cross-check failed"
    patch_rows = resampled.permute(0, 2, 3, 1).reshape(wp * hp, d)  # [wp, hp] grid flattened row-major
    return torch.cat([table[:1], patch_rows], dim=0)


def cubic_weights(t, A=-0.75):
    def near(x):  # |x| <= 1
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def bicubic_resample(grid, sf0, sf1, n0, n1):
    """Explicit spec-A.6.3 bicubic: src = (o+0.5)/sf - 0.5, taps floor(src)-1..+2 clamped to the border."""
    g0, g1, _ = grid.shape
    out = torch.zeros(n0, n1, grid.shape[2], dtype=grid.dtype)
    for i in range(n0):
        s0 = (i + 0.5) / sf0 - 0.5
        f0 = math.floor(s0)
        w0 = cubic_weights(s0 - f0)
        for j in range(n1):
            s1 = (j + 0.5) / sf1 - 0.5
            f1 = math.floor(s1)
            w1 = cubic_weights(s1 - f1)
            acc = 0
            for a in range(4):
                r = min(max(f0 - 1 + a, 0), g0 - 1)
                for c in range(4):
                    col = min(max(f1 - 1 + c, 0), g1 - 1)
                    acc = acc + w0[a] * w1[c] * grid[r, col]
            out[i, j] = acc
    return out


def t2l_vision_forward(vision, pixels):
    """Returns (image_embeds [b,P], residual stream after each block: list of num_layers+1 tensors [b,N,D])."""
    vm = vision.vision_model
    emb = vm.embeddings
    b, _, height, width = pixels.shape
    x = emb.patch_embedding(pixels)  # floors the grid
    x = x.flatten(2).transpose(1, 2)  # tokens row-major over [hp, wp]
    x = torch.cat([emb.class_embedding.expand(b, 1, -1), x], dim=1)
    x = x + t2l_position_embedding(emb.position_embedding.weight, height, width, emb.patch_size)
    x = vm.pre_layrnorm(x)
    stream = [x]
    for layer in vm.encoder.layers:
        x = layer(x)
        stream.append(x)
    image_embeds = vision.visual_projection(vm.post_layernorm(x[:, 0, :]))
    return image_embeds, stream


def cosine_self_similarity(tokens):
    norms = tokens.norm(dim=-1)
    return (tokens @ tokens.T) / torch.clamp(norms[:, None] * norms[None, :], min=1e-8)


def spherical_distance(x, y):
    x = F.normalize(x, dim=-1)  # x / max(|x|, 1e-12)
    y = F.normalize(y, dim=-1)
    return (x - y).norm(dim=-1).div(2).arcsin().pow(2).mul(2)


# ----------------------------------------------------------------------------------------------------------------
# CLIP BPE tokenizer (ASCII prompts only; enough for the fixed reference prompts).
# ----------------------------------------------------------------------------------------------------------------


def bytes_to_unicode():
    """GPT-2/CLIP byte-level BPE alphabet: printable bytes map to themselves, the others to code points from 256."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for byte in range(256):
        if byte not in bs:
            bs.append(byte)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class ClipTokenizer:
    def __init__(self, tokenizer_dir):
        self.encoder = json.loads((tokenizer_dir / "vocab.json").read_text(encoding="utf-8"))
        merges = (tokenizer_dir / "merges.txt").read_text(encoding="utf-8").split("\n")[1:]
        merges = [tuple(m.split()) for m in merges if m.strip()]
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.byte_encoder = bytes_to_unicode()

    def bpe(self, token):
        word = list(token[:-1]) + [token[-1] + "</w>"]
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        return word

    def encode(self, text, context=77):
        import re

        assert text.isascii(), "this small tokenizer handles ASCII prompts only"
        text = re.sub(r"\s+", " ", text).strip().lower()
        pattern = r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[a-z]+|[0-9]|[^\sa-z0-9]+"
        ids = [SOT]
        for piece in re.findall(pattern, text):
            piece = "".join(self.byte_encoder[b] for b in piece.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(piece))
        ids.append(EOT)
        assert len(ids) <= context
        return ids + [0] * (context - len(ids))  # zero padded, as clip.tokenize (Text2LIVE) does


# ----------------------------------------------------------------------------------------------------------------
# Export helpers
# ----------------------------------------------------------------------------------------------------------------


def convert_graph_to_fp16(model):
    """fp32 ONNX graph -> same graph with fp16 initializers/constants and fp32 graph inputs/outputs.

    Like onnxconverter-common's float16 conversion with keep_io_types=True: every float initializer and float
    Constant becomes float16, Casts to float become Casts to float16, and Cast nodes are inserted after each float
    graph input and before each float graph output. Done with onnx + numpy (astype(np.float16), round-to-nearest).
    """
    graph = model.graph
    for init in graph.initializer:
        if init.data_type == TensorProto.FLOAT:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name))
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TensorProto.FLOAT:
                attr.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(attr.t).astype(np.float16), attr.t.name))
            if node.op_type == "Cast" and attr.name == "to" and attr.i == TensorProto.FLOAT:
                attr.i = TensorProto.FLOAT16
    new_nodes = []
    for k, inp in enumerate(graph.input):
        if inp.type.tensor_type.elem_type != TensorProto.FLOAT:
            continue
        cast_out = f"graph_input_cast{k}"
        for node in graph.node:
            for i, name in enumerate(node.input):
                if name == inp.name:
                    node.input[i] = cast_out
        new_nodes.append(helper.make_node("Cast", [inp.name], [cast_out], name=f"graph_input_cast_{k}", to=10))
    tail_nodes = []
    for k, out in enumerate(graph.output):
        if out.type.tensor_type.elem_type != TensorProto.FLOAT:
            continue
        cast_in = f"graph_output_cast{k}"
        for node in graph.node:
            for i, name in enumerate(node.output):
                if name == out.name:
                    node.output[i] = cast_in
            for i, name in enumerate(node.input):
                if name == out.name:
                    node.input[i] = cast_in
        tail_nodes.append(helper.make_node("Cast", [cast_in], [out.name], name=f"graph_output_cast_{k}", to=1))
    nodes = new_nodes + list(graph.node) + tail_nodes
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.value_info[:]
    model = onnx.shape_inference.infer_shapes(model)
    onnx.checker.check_model(model)
    return model


def export_onnx(module, args, path, input_names, output_names, dynamic_axes, output_shapes=None):
    torch.onnx.export(
        module,
        args,
        str(path),
        opset_version=OPSET,
        input_names=input_names,
        output_names=output_names,
        dynamic_axes=dynamic_axes,
        do_constant_folding=True,
    )
    model = onnx.load(str(path))
    for out in model.graph.output:  # torch leaves some output dims unnamed/unknown; state them
        for i, dim in enumerate((output_shapes or {}).get(out.name, [])):
            if isinstance(dim, int):
                out.type.tensor_type.shape.dim[i].dim_value = dim
            else:
                out.type.tensor_type.shape.dim[i].dim_param = dim
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return model


def save_safetensors(path, tensors, metadata):
    header, blobs, offset = {}, [], 0
    for name, value in tensors.items():
        arr = np.ascontiguousarray(value.detach().cpu().numpy() if torch.is_tensor(value) else value, dtype="<f4")
        data = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = metadata
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for data in blobs:
            f.write(data)


def synthetic_image(g, height, width):
    """A smooth-ish random RGB image in [0,1] (float32), then CLIP-normalized: [1,3,H,W]."""
    y = torch.linspace(0, 1, height)[:, None]
    x = torch.linspace(0, 1, width)[None, :]
    chans = []
    for _ in range(3):
        f = torch.rand(4, generator=g) * 6 + 1
        ph = torch.rand(4, generator=g) * 6.283
        c = 0.5 + 0.2 * torch.sin(f[0] * x * 3.14 + ph[0]) * torch.cos(f[1] * y * 3.14 + ph[1])
        c = c + 0.15 * torch.sin(f[2] * (x + y) * 3.14 + ph[2])
        chans.append(c)
    img = torch.stack(chans) + 0.08 * torch.randn(3, height, width, generator=g)
    cy, cx = torch.rand(2, generator=g)
    blob = torch.exp(-(((y - cy) / 0.15) ** 2 + ((x - cx) / 0.2) ** 2))
    img = img + 0.35 * blob * torch.tensor([0.9, 0.6, -0.4])[:, None, None]
    img = img.clamp(0, 1)
    mean = torch.tensor(CLIP_MEAN)[:, None, None]
    std = torch.tensor(CLIP_STD)[:, None, None]
    return ((img - mean) / std).float()[None]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokenizer-dir", type=Path, default=ROOT.parent / "shared" / "data" / "tokenizer")
    parser.add_argument("--out", type=Path, default=ROOT / "models" / "tiny-clip")
    args = parser.parse_args()
    out = args.out
    (out / "onnx").mkdir(parents=True, exist_ok=True)
    torch.manual_seed(SEED)

    clip = CLIPModel()
    init_weights(clip, SEED)
    clip.eval()
    vision, text = clip.vision(), clip.text()
    patch = VISION["patch_size"]
    size = VISION["image_size"]

    # ---- ONNX exports (float32 module) ------------------------------------------------------------------------
    g = torch.Generator().manual_seed(SEED + 1)
    example = synthetic_image(g, size, size).repeat(2, 1, 1, 1)
    export_onnx(
        vision,
        (example,),
        out / "onnx" / "vision_model.onnx",
        ["pixel_values"],
        ["image_embeds", "last_hidden_state"],
        {"pixel_values": {0: "batch_size"}, "image_embeds": {0: "batch_size"}, "last_hidden_state": {0: "batch_size"}},
        {"last_hidden_state": ["batch_size", (size // patch) ** 2 + 1, VISION["hidden_size"]]},
    )
    fp16 = convert_graph_to_fp16(onnx.load(str(out / "onnx" / "vision_model.onnx")))
    onnx.save(fp16, str(out / "onnx" / "vision_model_fp16.onnx"))
    tokenizer = ClipTokenizer(args.tokenizer_dir)
    ids = torch.tensor([tokenizer.encode(p) for p in PROMPTS], dtype=torch.int64)
    export_onnx(
        text,
        (ids,),
        out / "onnx" / "text_model.onnx",
        ["input_ids"],
        ["text_embeds", "last_hidden_state"],
        {
            "input_ids": {0: "batch_size", 1: "sequence_length"},
            "text_embeds": {0: "batch_size"},
            "last_hidden_state": {0: "batch_size", 1: "sequence_length"},
        },
    )

    # ---- state dict of the vision tower ----------------------------------------------------------------------
    state = {k: v for k, v in vision.state_dict().items()}
    save_safetensors(
        out / "vision_state_dict.safetensors",
        state,
        {"format": "pt", "source": "tools/make_tiny_clip.py", "model": "CLIPVisionModelWithProjection (tiny)"},
    )

    # ---- references (float64 math on the float32 weights) ----------------------------------------------------
    clip.double()
    for p in clip.parameters():
        p.requires_grad_(False)
    ref = {}
    with torch.no_grad():
        sq = synthetic_image(g, size, size)
        ns = synthetic_image(g, size, size * 11 // 7)  # 56 x 88 -> grid 7 x 11
        assert ns.shape[-2:] == (56, 88)
        for key, px in (("square", sq), ("nonsquare", ns)):
            pxd = px.double()
            emb, stream = t2l_vision_forward(vision, pxd)
            tokens = stream[VISION["num_hidden_layers"] - 1][0]
            ref[f"{key}.pixel_values"] = px
            if key == "nonsquare":
                ref[f"{key}.position_embedding"] = t2l_position_embedding(
                    vision.vision_model.embeddings.position_embedding.weight, px.shape[2], px.shape[3], patch
                )
            ref[f"{key}.image_embeds"] = emb
            if key == "square":
                hf_embeds, hf_last = vision(pxd)  # HF semantics (= what the ONNX file computes)
                assert torch.allclose(hf_embeds, emb, atol=1e-12)
                ref[f"{key}.last_hidden_state"] = hf_last
            ref[f"{key}.structure_tokens"] = tokens
            ref[f"{key}.self_similarity"] = cosine_self_similarity(tokens)

        text_embeds, text_last = text(ids)
        ref["text.input_ids"] = ids.float()
        ref["text.text_embeds"] = text_embeds
        ref["text.last_hidden_state"] = text_last

    # spherical-distance loss over 3 views, gradient w.r.t. the (normalized) pixels
    views = torch.cat([synthetic_image(g, size, size) for _ in range(3)]).double().requires_grad_(True)
    target = text_embeds[:1].detach()
    emb, _ = t2l_vision_forward(vision, views)
    loss = spherical_distance(emb, target).mean()
    loss.backward()
    ref["loss.views"] = views.detach()
    ref["loss.target"] = target
    ref["loss.image_embeds"] = emb.detach()
    ref["loss.value"] = loss.detach().reshape(1)
    ref["loss.grad"] = views.grad

    # relevancy (spec A.9): last block only, cam = mean_heads(max(dlogit/dP * P, 0)), CLS row -> grid -> bilinear
    rel_pixels = sq.double().requires_grad_(True)  # only so that autograd records the graph (weights are frozen)
    rel_text = text_embeds[1:2].detach()  # "horse"
    last = vision.vision_model.encoder.layers[-1]
    last.self_attn.record = True
    emb, _ = t2l_vision_forward(vision, rel_pixels)
    logit = RELEVANCY_LOGIT_SCALE * F.cosine_similarity(emb, rel_text, dim=-1).sum()
    logit.backward()
    probs = last.self_attn.probs[0]  # [heads, N, N]
    grad = last.self_attn.probs.grad[0]
    last.self_attn.record = False
    cam = (grad * probs).clamp(min=0).mean(dim=0)  # [N, N]
    grid = size // patch
    rel7 = cam[0, 1:].reshape(grid, grid)
    rel = F.interpolate(rel7[None, None], size=(size, size), mode="bilinear", align_corners=False)[0, 0]
    rel = (rel - rel.min()) / (rel.max() - rel.min())
    ref["relevancy.pixel_values"] = rel_pixels.detach()
    ref["relevancy.text_embeds"] = rel_text
    ref["relevancy.logit"] = logit.detach().reshape(1)
    ref["relevancy.attn_probs"] = probs.detach()
    ref["relevancy.attn_grad"] = grad
    ref["relevancy.cam"] = cam
    ref["relevancy.map_7x7"] = rel7
    ref["relevancy.map"] = rel

    metadata = {
        "source": "tools/make_tiny_clip.py",
        "seed": str(SEED),
        "precision": "computed in float64 from the float32 weights, stored as float32",
        "prompts": json.dumps(PROMPTS),
        "text.input_ids": "CLIP BPE ids, SOT..EOT then zero padding to 77 (as clip.tokenize); stored as float32",
        "square": "1x3x56x56 normalized pixels; 7x7 grid, positional table used as is",
        "nonsquare": "1x3x56x88 (H x W) normalized pixels; grid 7 x 11; positional table from spec A.6.3: bicubic "
        "A=-0.75, align_corners=False, scale (11.1/7) on the grid's row axis and (7.1/7) on its column axis, "
        "taps clamped; [11,7] result flattened row-major onto the 7x11 row-major tokens",
        "structure_tokens": "residual stream after all but the last block (input of the last block), CLS included",
        "self_similarity": "cosine: <ta,tb> / max(|ta||tb|, 1e-8)",
        "loss": "mean over the 3 views of 2*arcsin(|x^-y^|/2)^2, x = image_embeds of loss.views, y = loss.target "
        "(= text.text_embeds[0]); loss.grad = d loss / d loss.views",
        "relevancy": "logit = 100*cos(image_embeds(relevancy.pixel_values), relevancy.text_embeds (= text.text_embeds"
        "[1])); last block only (index > num_layers-2); attn_probs P [heads,50,50], attn_grad = dlogit/dP; "
        "cam = mean_heads(max(attn_grad*P, 0)); map_7x7 = cam[0,1:] row-major; map = bilinear(align_corners=False) "
        "up to 56x56, min-max normalized",
    }
    save_safetensors(out / "reference.safetensors", ref, metadata)

    # ---- config, tokenizer, preprocessor ---------------------------------------------------------------------
    config = {
        "_tiny_clip_note": "random weights from tools/make_tiny_clip.py; CLIP architecture at toy size",
        "architectures": ["CLIPModel"],
        "initializer_factor": 1.0,
        "logit_scale_init_value": LOGIT_SCALE_INIT,
        "model_type": "clip",
        "projection_dim": PROJECTION_DIM,
        "text_config": {
            "attention_dropout": 0.0,
            "bos_token_id": 0,
            "dropout": 0.0,
            "eos_token_id": 2,
            "hidden_act": "quick_gelu",
            "hidden_size": TEXT["hidden_size"],
            "initializer_factor": 1.0,
            "initializer_range": 0.02,
            "intermediate_size": TEXT["intermediate_size"],
            "layer_norm_eps": TEXT["layer_norm_eps"],
            "max_position_embeddings": TEXT["max_position_embeddings"],
            "model_type": "clip_text_model",
            "num_attention_heads": TEXT["num_attention_heads"],
            "num_hidden_layers": TEXT["num_hidden_layers"],
            "projection_dim": PROJECTION_DIM,
            "torch_dtype": "float32",
            "vocab_size": TEXT["vocab_size"],
        },
        "torch_dtype": "float32",
        "vision_config": {
            "attention_dropout": 0.0,
            "dropout": 0.0,
            "hidden_act": "quick_gelu",
            "hidden_size": VISION["hidden_size"],
            "image_size": VISION["image_size"],
            "initializer_factor": 1.0,
            "initializer_range": 0.02,
            "intermediate_size": VISION["intermediate_size"],
            "layer_norm_eps": VISION["layer_norm_eps"],
            "model_type": "clip_vision_model",
            "num_attention_heads": VISION["num_attention_heads"],
            "num_channels": VISION["num_channels"],
            "num_hidden_layers": VISION["num_hidden_layers"],
            "patch_size": VISION["patch_size"],
            "projection_dim": PROJECTION_DIM,
            "torch_dtype": "float32",
        },
    }
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    for name in TOKENIZER_FILES:
        shutil.copyfile(args.tokenizer_dir / name, out / name)
        (out / name).chmod(0o644)
    pre = json.loads((args.tokenizer_dir / "preprocessor_config.json").read_text())
    pre["crop_size"] = {"height": size, "width": size}
    pre["size"] = {"shortest_edge": size}
    (out / "preprocessor_config.json").write_text(json.dumps(pre, indent=2) + "\n")

    # ---- report ----------------------------------------------------------------------------------------------
    with torch.no_grad():
        _, stream = t2l_vision_forward(vision, sq.double())
        print("residual-stream std per stage (square):", [round(float(s.std()), 3) for s in stream])
        print("image_embeds norm:", float(ref["square.image_embeds"].norm()), "text_embeds norms:",
              [round(float(n), 3) for n in ref["text.text_embeds"].norm(dim=-1)])
        print("loss:", float(ref["loss.value"][0]), "|grad| max:", float(ref["loss.grad"].abs().max()))
        print("token ids:", [[i for i in row if i] for row in ids.tolist()])
    for path in sorted(out.rglob("*")):
        if path.is_file():
            print(f"{path.relative_to(out)}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()

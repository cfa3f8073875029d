#!/usr/bin/python3
"""PyTorch oracle for the skip generator (spec §A.4) and the optimizers (spec §A.10, Adam).

Developer tool: CI never runs it; its output is committed as test/fixtures/generator_small.safetensors.
Run with Debian's torch (the first python3 on PATH may lack it):

    /usr/bin/python3 tools/generator_oracle.py [--out test/fixtures/generator_small.safetensors]

What it does
  1. Defines the Deep-Image-Prior skip generator exactly as spec §A.4 (reflection padding, BN in batch-statistics
     mode with eps 1e-5, LeakyReLU(0.2), bilinear x2 upsampling with align_corners=False, centre-cropped concat,
     BN on the concatenation, no BN after level 0's 1x1 conv, head = 1x1 conv -> DecorrRGB -> sigmoid), with
     configurable widths. Parameter names (state_dict keys) are the ones the TypeScript port uses.
  2. Checks the parameter count of the default config (7 scales, 128/128/4) against 3,115,548, and the gradients of
     a tiny float64 instance against finite differences (torch.autograd.gradcheck).
  3. For the small config (3 scales, down = up = 8, skip = 4, input [1,3,137,201]) draws input, weights and the loss
     weights R from fixed seeds, computes L = sum(G(x) * R) and dL/dparam by autograd. The network runs in float64
     (the parameters are float32 values, cast up); everything stored is float32.
  4. Runs two MADGRAD steps (spec §A.10, float32, gradient of step 2 recomputed at the updated parameters) and two
     torch.optim.Adam steps the same way, and stores parameters, gradients and optimizer state.
  5. Writes everything with a small safetensors writer (no extra Python package needed).
"""

import argparse
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ----------------------------------------------------------------------------------------------------------- model

LEAKY_SLOPE = 0.2
BN_EPS = 1e-5


def decorr_matrix():
    """Spec §A.4: divide column 0 by 1.6, then everything by the largest column L2 norm; rgb_out = M @ rgb_in.
    Computed in float32 arithmetic, as the reference does (the result differs from a float64 computation in the last
    bit of some entries)."""
    m = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=torch.float32)
    m = m / torch.tensor([1.6, 1.0, 1.0], dtype=torch.float32)
    return m / m.norm(dim=0).max()


def reflect_conv(conv, x):
    """Conv(k) of spec §A.4: reflection padding of (k-1)/2 on each side (no edge repeat), then the convolution with
    bias and no implicit padding."""
    pad = (conv.kernel_size[0] - 1) // 2
    if pad > 0:
        x = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    return conv(x)


def batch_norm(x, bn):
    """BatchNorm2d in training mode (batch statistics, biased variance); running statistics are never read."""
    return F.batch_norm(x, None, None, bn.weight, bn.bias, training=True, momentum=0.0, eps=BN_EPS)


class ConvBnAct(nn.Module):
    def __init__(self, cin, cout, k, stride=1, bn=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=0, bias=True)
        if bn:
            self.bn = nn.BatchNorm2d(cout, eps=BN_EPS, track_running_stats=False)
        else:
            self.bn = None

    def forward(self, x, act=True):
        y = reflect_conv(self.conv, x)
        if self.bn is not None:
            y = batch_norm(y, self.bn)
        return F.leaky_relu(y, LEAKY_SLOPE) if act else y


def centre_crop(t, h, w):
    dh = (t.shape[2] - h) // 2
    dw = (t.shape[3] - w) // 2
    return t[:, :, dh : dh + h, dw : dw + w]


class Level(nn.Module):
    def __init__(self, i, scales, cin, down, up, skip):
        super().__init__()
        self.i = i
        self.last = i == scales - 1
        self.skip = ConvBnAct(cin, skip, 1)
        self.down1 = ConvBnAct(cin, down, 3, stride=2)
        self.down2 = ConvBnAct(down, down, 3)
        k = down if self.last else up
        self.concat_bn = nn.BatchNorm2d(skip + k, eps=BN_EPS, track_running_stats=False)
        self.up = ConvBnAct(skip + k, up, 3)
        self.up1x1 = ConvBnAct(up, up, 1, bn=i > 0)

    def forward(self, x, deeper):
        s = self.skip(x)
        h = self.down1(x)
        h = self.down2(h)
        if not self.last:
            h = deeper(h)
        h = F.interpolate(h, scale_factor=2, mode="bilinear", align_corners=False)
        th, tw = min(s.shape[2], h.shape[2]), min(s.shape[3], h.shape[3])
        z = torch.cat([centre_crop(s, th, tw), centre_crop(h, th, tw)], dim=1)
        z = batch_norm(z, self.concat_bn)
        z = self.up(z)
        return self.up1x1(z)  # conv, BN only for i > 0, act


class Head(nn.Module):
    def __init__(self, up, cout):
        super().__init__()
        self.conv = nn.Conv2d(up, cout, 1, bias=True)


class SkipGenerator(nn.Module):
    def __init__(self, scales=7, down=128, up=128, skip=4, cin=3, cout=4):
        super().__init__()
        self.levels = nn.ModuleList(
            [Level(i, scales, cin if i == 0 else down, down, up, skip) for i in range(scales)]
        )
        self.head = Head(up, cout)
        self.register_buffer("decorr", decorr_matrix(), persistent=False)

    def run_level(self, i, x):
        deeper = (lambda h: self.run_level(i + 1, h)) if i + 1 < len(self.levels) else None
        return self.levels[i](x, deeper)

    def forward(self, x):
        y = self.head.conv(self.run_level(0, x))
        rgb = torch.einsum("dc,nchw->ndhw", self.decorr.to(y.dtype), y[:, :3])
        return torch.sigmoid(torch.cat([rgb, y[:, 3:]], dim=1))


def param_count(model):
    return sum(p.numel() for p in model.parameters())


# ------------------------------------------------------------------------------------------------------ optimizers


def madgrad_spec(params, grads, state, lr, k, momentum, wd, eps):
    """Spec §A.10 literally (float32 tensors). state: dict name -> {x0, s, v}; returns nothing, updates params."""
    eta = lr + eps
    lam = eta * math.sqrt(k + 1)
    for name, x in params.items():
        g = grads[name] + wd * x
        st = state.setdefault(name, {"x0": x.clone(), "s": torch.zeros_like(x), "v": torch.zeros_like(x)})
        st["v"] = st["v"] + lam * g * g
        st["s"] = st["s"] + lam * g
        z = st["x0"] - st["s"] / (st["v"].pow(1 / 3) + eps)
        params[name] = momentum * x + (1 - momentum) * z


class MadgradDense:
    """The dense, momentum != 0, coupled-decay path of facebookresearch/madgrad (written from its description),
    used to cross-check madgrad_spec on the same inputs."""

    def __init__(self, tensors, lr, momentum, wd, eps):
        self.p = tensors
        self.lr, self.momentum, self.wd, self.eps = lr, momentum, wd, eps
        self.k = 0
        self.state = {}

    def step(self, grads):
        eps = self.eps
        lr = self.lr + eps
        ck = 1 - self.momentum
        lamb = lr * math.pow(self.k + 1, 0.5)
        for name, p in self.p.items():
            grad = grads[name].clone()
            st = self.state.get(name)
            if st is None:
                st = self.state[name] = {
                    "grad_sum_sq": torch.zeros_like(p),
                    "s": torch.zeros_like(p),
                    "x0": p.clone(),
                }
            if self.wd != 0:
                grad.add_(p, alpha=self.wd)
            st["grad_sum_sq"].addcmul_(grad, grad, value=lamb)
            rms = st["grad_sum_sq"].pow(1 / 3).add_(eps)
            st["s"].add_(grad, alpha=lamb)
            z = st["x0"].addcdiv(st["s"], rms, value=-1)
            p.mul_(1 - ck).add_(z, alpha=ck)
        self.k += 1


def adam_spec(params, grads, state, step, lr, b1, b2, eps):
    """PyTorch Adam (no weight decay, no amsgrad): bias-corrected, eps added after sqrt(v)/sqrt(bc2)."""
    bc1 = 1 - b1**step
    bc2 = 1 - b2**step
    for name, x in params.items():
        g = grads[name]
        st = state.setdefault(name, {"m": torch.zeros_like(x), "v": torch.zeros_like(x)})
        st["m"] = st["m"] * b1 + (1 - b1) * g
        st["v"] = st["v"] * b2 + (1 - b2) * g * g
        denom = st["v"].sqrt() / math.sqrt(bc2) + eps
        params[name] = x - (lr / bc1) * st["m"] / denom


# ------------------------------------------------------------------------------------------------------ safetensors


def write_safetensors(path, tensors, metadata):
    """tensors: dict name -> float32 numpy array. Standard layout: u64 LE header length, JSON header padded with
    spaces to a multiple of 8, raw little-endian data in header order."""
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for name, e in header.items():
        a, b = e["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a : 8 + n + b], dtype="<f4").reshape(e["shape"])
    return out, meta


# ------------------------------------------------------------------------------------------------------------ main


def uniform(gen, shape, lo, hi, dtype=torch.float32):
    return (torch.rand(shape, generator=gen, dtype=torch.float64) * (hi - lo) + lo).to(dtype)


def init_weights(model, seed):
    """Non-trivial values so BN affine parameters and biases are tested: conv weights and biases
    U(-1,1)/sqrt(fan_in), BN gamma U(0.5,1.5), BN beta U(-0.2,0.2). Drawn in named_parameters order."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            owner = model.get_submodule(name.rsplit(".", 1)[0])
            if isinstance(owner, nn.Conv2d):
                fan_in = owner.in_channels * owner.kernel_size[0] * owner.kernel_size[1]
                p.copy_(uniform(gen, p.shape, -1, 1) / math.sqrt(fan_in))
            elif name.endswith(".weight"):
                p.copy_(uniform(gen, p.shape, 0.5, 1.5))
            else:
                p.copy_(uniform(gen, p.shape, -0.2, 0.2))


def loss_and_grads(model, params32, x, r):
    """L = sum(G(x) * R) in float64 at the given float32 parameter values; returns (output, grads) as float32."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(params32[name].to(torch.float64))
    model.zero_grad(set_to_none=True)
    out = model(x)
    loss = (out * r).sum()
    loss.backward()
    grads = {name: p.grad.detach().to(torch.float32).clone() for name, p in model.named_parameters()}
    return out.detach().to(torch.float32), grads, loss.item()


def check_gradients_tiny():
    """Finite-difference check of the autograd gradients on a tiny float64 instance (odd, non-square input)."""
    torch.manual_seed(0)
    model = SkipGenerator(scales=2, down=3, up=3, skip=2).double()
    init_weights(model, 7)
    x = uniform(torch.Generator().manual_seed(8), (1, 3, 11, 9), 0, 1, torch.float64)
    r = uniform(torch.Generator().manual_seed(9), (1, 4, 11, 9), -1, 1, torch.float64)
    names = [n for n, _ in model.named_parameters()]

    from torch.nn.utils.stateless import functional_call

    def f(*ps):
        return (functional_call(model, dict(zip(names, ps)), (x,)) * r).sum()

    ps = tuple(p.detach().clone().requires_grad_(True) for p in model.parameters())
    assert torch.autograd.gradcheck(f, ps, eps=1e-6, atol=1e-6, rtol=1e-4), "gradcheck failed"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "test", "fixtures", "generator_small.safetensors"))
    args = ap.parse_args()

    torch.set_num_threads(max(1, os.cpu_count() or 1))

    # Default config: parameter count from the spec.
    full = SkipGenerator()
    n_full = param_count(full)
    assert n_full == 3_115_548, n_full
    per_level = [sum(p.numel() for p in lv.parameters()) for lv in full.levels]
    assert per_level[0] == 320_928 and all(n == 465_684 for n in per_level[1:]), per_level
    assert sum(p.numel() for p in full.head.parameters()) == 516
    assert list(full.state_dict()) == [n for n, _ in full.named_parameters()]  # no buffers: names are the keys
    del full

    m = decorr_matrix()
    expected_m = torch.tensor(
        [[0.562829, 0.311720, 0.069271], [0.584476, 0.0, -0.173178], [0.584476, -0.311720, 0.103907]]
    )
    assert (m - expected_m).abs().max() < 1e-6, m

    check_gradients_tiny()

    cfg = dict(scales=3, down=8, up=8, skip=4)
    shape = (1, 3, 137, 201)
    seeds = dict(input=1, weights=2, loss_weights=3)
    madgrad_cfg = dict(lr=0.0025, gamma=0.99, momentum=0.9, weight_decay=0.01, eps=1e-6)
    adam_cfg = dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)

    model = SkipGenerator(**cfg)
    init_weights(model, seeds["weights"])
    params0 = {n: p.detach().clone() for n, p in model.named_parameters()}  # float32
    model = model.double()
    x = uniform(torch.Generator().manual_seed(seeds["input"]), shape, 0, 1)  # float32 values
    x64 = x.double()
    out_shape = (1, 4, shape[2], shape[3])
    r = uniform(torch.Generator().manual_seed(seeds["loss_weights"]), out_shape, -1, 1)
    r64 = r.double()

    out, grads1, loss1 = loss_and_grads(model, params0, x64, r64)

    tensors = {"input": x.numpy(), "output": out.numpy(), "loss_weights": r.numpy()}
    for n in params0:
        tensors[f"param.{n}"] = params0[n].numpy()
        tensors[f"grad.{n}"] = grads1[n].numpy()

    # ---- MADGRAD: two steps, lr 0.0025 then 0.0025*0.99.
    lrs = [madgrad_cfg["lr"], madgrad_cfg["lr"] * madgrad_cfg["gamma"]]
    mg = dict(momentum=madgrad_cfg["momentum"], wd=madgrad_cfg["weight_decay"], eps=madgrad_cfg["eps"])
    p_spec = {n: t.clone() for n, t in params0.items()}
    st_spec = {}
    ref = MadgradDense({n: t.clone() for n, t in params0.items()}, lr=lrs[0], **mg)

    madgrad_spec(p_spec, grads1, st_spec, lrs[0], 0, **mg)
    ref.step(grads1)
    after1 = {n: t.clone() for n, t in p_spec.items()}
    _, grads2, loss2 = loss_and_grads(model, after1, x64, r64)
    madgrad_spec(p_spec, grads2, st_spec, lrs[1], 1, **mg)
    ref.lr = lrs[1]
    ref.step(grads2)
    worst_ref = 0.0
    for n in p_spec:
        worst_ref = max(worst_ref, (p_spec[n] - ref.p[n]).abs().max().item())
        worst_ref = max(worst_ref, (st_spec[n]["v"] - ref.state[n]["grad_sum_sq"]).abs().max().item())
        worst_ref = max(worst_ref, (st_spec[n]["s"] - ref.state[n]["s"]).abs().max().item())
    assert worst_ref < 1e-6, worst_ref
    for n in params0:
        tensors[f"madgrad.grad2.{n}"] = grads2[n].numpy()
        tensors[f"madgrad.after1.param.{n}"] = after1[n].numpy()
        tensors[f"madgrad.after2.param.{n}"] = p_spec[n].numpy()
        tensors[f"madgrad.after2.s.{n}"] = st_spec[n]["s"].numpy()
        tensors[f"madgrad.after2.v.{n}"] = st_spec[n]["v"].numpy()
        tensors[f"madgrad.after2.x0.{n}"] = st_spec[n]["x0"].numpy()

    # ---- Adam (torch.optim.Adam), two steps; step 2's gradient recomputed at the updated parameters.
    ps = [nn.Parameter(params0[n].clone()) for n in params0]
    names = list(params0)
    opt = torch.optim.Adam(ps, lr=adam_cfg["lr"], betas=(adam_cfg["beta1"], adam_cfg["beta2"]), eps=adam_cfg["eps"])
    for p, n in zip(ps, names):
        p.grad = grads1[n].clone()
    opt.step()
    adam_after1 = {n: p.detach().clone() for n, p in zip(names, ps)}
    _, adam_grads2, _ = loss_and_grads(model, adam_after1, x64, r64)
    for p, n in zip(ps, names):
        p.grad = adam_grads2[n].clone()
    opt.step()
    a_spec = {n: t.clone() for n, t in params0.items()}
    a_state = {}
    for step, g in ((1, grads1), (2, adam_grads2)):
        adam_spec(a_spec, g, a_state, step, adam_cfg["lr"], adam_cfg["beta1"], adam_cfg["beta2"], adam_cfg["eps"])
    worst_adam = max((a_spec[n] - p.detach()).abs().max().item() for n, p in zip(names, ps))
    assert worst_adam < 1e-7, worst_adam
    for p, n in zip(ps, names):
        st = opt.state[p]
        tensors[f"adam.grad2.{n}"] = adam_grads2[n].numpy()
        tensors[f"adam.after2.param.{n}"] = p.detach().numpy()
        tensors[f"adam.after2.m.{n}"] = st["exp_avg"].numpy()
        tensors[f"adam.after2.v.{n}"] = st["exp_avg_sq"].numpy()

    metadata = {
        "format": "text2live-web generator oracle v1",
        "generator": "skip (spec A.4)",
        "scales": str(cfg["scales"]),
        "down": str(cfg["down"]),
        "up": str(cfg["up"]),
        "skip": str(cfg["skip"]),
        "in_channels": "3",
        "out_channels": "4",
        "input_shape": json.dumps(list(shape)),
        "output_shape": json.dumps(list(out_shape)),
        "param_count": str(param_count(model)),
        "decorr_matrix": json.dumps(decorr_matrix().tolist()),
        "param_names": json.dumps(names),
        "seed_input": str(seeds["input"]),
        "seed_weights": str(seeds["weights"]),
        "seed_loss_weights": str(seeds["loss_weights"]),
        "input_distribution": "U(0,1)",
        "loss_weights_distribution": "U(-1,1)",
        "weight_init": "conv weight/bias U(-1,1)/sqrt(fan_in); bn weight U(0.5,1.5); bn bias U(-0.2,0.2)",
        "loss": "sum(output * loss_weights)",
        "loss_value": repr(loss1),
        "loss_value_madgrad_after1": repr(loss2),
        "compute": "network float64 (float32 parameter values), gradients rounded to float32; optimizers float32",
        "madgrad": json.dumps({**madgrad_cfg, "lr_steps": lrs, "decay": "coupled"}),
        "adam": json.dumps({**adam_cfg, "weight_decay": 0.0, "amsgrad": False}),
        "torch_version": torch.__version__,
    }

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    write_safetensors(args.out, tensors, metadata)

    # Read back and compare.
    back, meta = read_safetensors(args.out)
    assert meta == metadata
    assert set(back) == set(tensors)
    for k, v in tensors.items():
        assert np.array_equal(back[k], v), k
    size = os.path.getsize(args.out)
    print(f"wrote {args.out}: {len(tensors)} tensors, {size / 1e6:.2f} MB")
    print(f"params {param_count(model)} (default config {n_full}); loss {loss1:.6f}; after MADGRAD step 1 {loss2:.6f}")
    print(f"MADGRAD spec vs dense reference: {worst_ref:.3g}; Adam formula vs torch.optim.Adam: {worst_adam:.3g}")


if __name__ == "__main__":
    main()

"""The layered atlas of VIDEO_ATLAS.md (design A) and NLA's losses in PyTorch, written from the recipe and the
NLA paper/code conventions, not from the TypeScript: the oracle of one fitting iteration (tools/atlas_oracle.py)
and the CPU mirror of a whole fit (tools/atlas_fit_mirror.py) both use it. Shared conventions with the engine
(documented in src/video/atlas/coords.ts and src/ops/*.ts):

  * a pixel centre (px, py) of a W x H frame is x = (px + 1/2 - W/2) 2/W, y = (py + 1/2 - H/2) 2/W; frame t of F is
    2t/(F - 1) - 1;
  * mapping uv = S (x, y) + MLP(x, y, t) with S = 1/2; MLP = Linear/ReLU ... Linear, weights [out, in];
  * alpha = sigmoid(MLP(PE(x, y, t))) squashed to [0.001, 0.999]; PE = input, then per octave k all sin(2^k pi x_d),
    then all cos(2^k pi x_d);
  * an atlas = sum over levels of F.grid_sample(level, uv, bilinear, border, align_corners=False);
  * losses averaged over the points given (the flow terms over all flow points, valid or not: the validity is in the
    weights), distances in frame pixels (uv distance x W / (2 S)).
"""

import math

import torch
import torch.nn.functional as F

MAPPING_SCALE = 0.5
ALPHA_MIN = 0.001
RIGIDITY_EPS = 1e-3
NO_FLOW = 0xFFFFFFFF
# The recipe's (NLA's) loss weights, and the weak mask prior after the bootstrap.
RECIPE_WEIGHTS = {
    "rgb": 5000,
    "rigidity": 1,
    "globalRigidityBackground": 50,
    "globalRigidityForeground": 5,
    "flow": 5,
    "alphaFlow": 49,
    "sparsity": 1000,
    "maskBootstrap": 2000,
    "maskPrior": 100,
}
TERMS = ["rgb", "rigidity", "globalRigidity", "flow", "alphaFlow", "sparsity", "mask"]


def mlp_sizes(inp, hidden, hidden_layers, out):
    return [inp] + [hidden] * hidden_layers + [out]


def _mkldnn_linear(a, b, bias=None):
    """a [N, K] @ b[M, K]^T (+ bias) through oneDNN: Debian's torch has only the reference BLAS (~3 GFLOP/s on one
    core), oneDNN's inner product is ~10-30x faster. float32 only."""
    mk = lambda t: t.contiguous().to_mkldnn()  # noqa: E731
    return torch._C._nn.mkldnn_linear(mk(a), mk(b), mk(bias) if bias is not None else None).to_dense()


class OneDnnLinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return _mkldnn_linear(x, w, b)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return _mkldnn_linear(g, w.t()), _mkldnn_linear(g.t(), x.t()), g.sum(0)


def linear(x, w, b):
    """x @ w^T + b; float32 goes through oneDNN (the mirror's speed), float64 (the oracle) through torch's matmul."""
    if x.dtype == torch.float32 and torch.backends.mkldnn.is_available():
        return OneDnnLinear.apply(x, w, b)
    return x @ w.t() + b


def mlp_forward(layers, x):
    """layers: list of (weight [out, in], bias [out]); ReLU between layers, none after the last."""
    h = x
    for k, (w, b) in enumerate(layers):
        h = linear(h, w, b)
        if k < len(layers) - 1:
            h = torch.relu(h)
    return h


def positional_encoding(x, octaves):
    parts = [x]
    for k in range(octaves):
        a = (2.0**k) * math.pi * x
        parts.append(torch.sin(a))
        parts.append(torch.cos(a))
    return torch.cat(parts, dim=1)


def pyramid_sample(levels, uv):
    """levels: list of [3, R, R]; uv [N, 2] -> [N, 3]."""
    grid = uv[None, None]  # [1, 1, N, 2]
    out = 0
    for lv in levels:
        s = F.grid_sample(lv[None], grid, mode="bilinear", padding_mode="border", align_corners=False)
        out = out + s[0, :, 0, :].t()
    return out


def rigidity(uv0, uvdx, uvdy, step):
    """NLA's symmetric dilation ||J^T J||_F + ||(J^T J + eps I)^-1||_F, J by finite differences over `step`
    (normalised units) divided by S, mean over points."""
    jx = (uvdx - uv0) / (step * MAPPING_SCALE)
    jy = (uvdy - uv0) / (step * MAPPING_SCALE)
    J = torch.stack([jx, jy], dim=2)  # [N, 2 (uv), 2 (x, y)]
    M = J.transpose(1, 2) @ J
    eye = torch.eye(2, dtype=uv0.dtype)
    inv = torch.linalg.inv(M + RIGIDITY_EPS * eye)
    return (M.flatten(1).norm(dim=1) + inv.flatten(1).norm(dim=1)).mean()


class AtlasTorch:
    """Parameters as a dict name -> tensor (requires_grad), named as the engine names them."""

    def __init__(self, params, cfg):
        self.p = params
        self.cfg = cfg
        self.hidden_layers = cfg["hiddenLayers"]
        self.background_only = cfg.get("backgroundOnly", False)

    def layers(self, name):
        n = self.hidden_layers + 1
        return [(self.p[f"{name}.{k}.weight"], self.p[f"{name}.{k}.bias"]) for k in range(n)]

    def atlas_levels(self, name, top):
        out = []
        r = 16
        while r <= top:
            out.append(self.p[f"{name}.atlas.level{r}"])
            r *= 2
        return out

    def map(self, layer, points):
        return MAPPING_SCALE * points[:, :2] + mlp_forward(self.layers(f"{layer}.mapping"), points)

    def colour(self, layer, uv):
        top = self.cfg["backgroundResolution"] if layer == "background" else self.cfg["foregroundResolution"]
        return pyramid_sample(self.atlas_levels(layer, top), uv)

    def alpha(self, points):
        z = mlp_forward(self.layers("alpha"), positional_encoding(points, self.cfg["alphaOctaves"]))
        return (torch.sigmoid(z) * (1 - 2 * ALPHA_MIN) + ALPHA_MIN)[:, 0]

    def reconstruct(self, points):
        b = self.colour("background", self.map("background", points))
        if self.background_only:
            return b
        f = self.colour("foreground", self.map("foreground", points))
        a = self.alpha(points)[:, None]
        return a * f + (1 - a) * b


def flow_targets(flow, valid, index, coords, width, height, frames, direction):
    """Where the flow takes points: flow [P, 2, H, W], valid [P, 1, H, W], index [M] (int64, pair*H*W + pixel, or
    NO_FLOW), coords [M, 3]. Returns (moved [M, 3], ok [M]). Data, not differentiated."""
    hw = width * height
    has = index != NO_FLOW
    idx = torch.where(has, index, torch.zeros_like(index))
    pair = idx // hw
    pix = idx % hw
    fl = flow.reshape(flow.shape[0], 2, hw)
    u = fl[pair, 0, pix]
    v = fl[pair, 1, pix]
    px = 2.0 / width
    dt = direction * 2.0 / (max(frames, 2) - 1)
    step = torch.stack([u * px, v * px, torch.full_like(u, dt)], dim=1)
    moved = torch.where(has[:, None], coords + step, coords)
    ok = torch.where(has, valid.reshape(valid.shape[0], hw)[pair, pix], torch.zeros_like(u))
    return moved, ok


def atlas_losses(model, batch, flows, geometry, iteration):
    """batch: dict coords [N,3], rgb [N,3], mask [N] or None, rigidity: dict coords, dx, dy, globalDx, globalDy
    [R,3] (the first R points, shifted by 1 px and by the global step along x and y), forwardIndex and
    backwardIndex [M] (the first M points' packed flow indices).
    flows: dict forward, backward, forwardValid, backwardValid or None. Returns (total, terms dict, reconstruction)."""
    cfg = model.cfg
    w = cfg["weights"]
    width, height, frames = geometry
    bootstrap = iteration < cfg["bootstrapIterations"]
    fg = not model.background_only
    coords = batch["coords"]
    n = coords.shape[0]
    r = batch["rigidity"]["coords"].shape[0]
    m = batch["forwardIndex"].shape[0] if flows is not None else 0
    terms = {}
    weight = {
        "rgb": w["rgb"],
        "rigidity": w["rigidity"],
        "globalRigidity": w["globalRigidityBackground"] if bootstrap else 0,
        "flow": w["flow"],
        "alphaFlow": w["alphaFlow"] if fg else 0,
        "sparsity": w["sparsity"] if fg else 0,
        "mask": (w["maskBootstrap"] if bootstrap else w["maskPrior"]) if fg and batch.get("mask") is not None else 0,
    }

    uvb = model.map("background", coords)
    colour_b = model.colour("background", uvb)
    if fg:
        uvf = model.map("foreground", coords)
        colour_f = model.colour("foreground", uvf)
        alpha = model.alpha(coords)
        a = alpha[:, None]
        recon = a * colour_f + (1 - a) * colour_b
        terms["sparsity"] = (((1 - a) * colour_f) ** 2).sum(dim=1).mean()
        if weight["mask"]:
            q = alpha.clamp(1e-6, 1 - 1e-6)
            t = batch["mask"]
            terms["mask"] = (-(t * torch.log(q) + (1 - t) * torch.log(1 - q))).mean()
    else:
        recon = colour_b
    terms["rgb"] = ((recon - batch["rgb"]) ** 2).sum(dim=1).mean()

    px = 2.0 / width
    layers = ["background"] + (["foreground"] if fg else [])
    if r > 0:
        rg = batch["rigidity"]

        def rig(layer, dx, dy, step):
            return rigidity(model.map(layer, rg["coords"]), model.map(layer, rg[dx]), model.map(layer, rg[dy]), step)

        terms["rigidity"] = sum(rig(layer, "dx", "dy", px) for layer in layers)
        if weight["globalRigidity"]:
            gp = cfg["globalRigidityPixels"] * px
            terms["globalRigidity"] = rig("background", "globalDx", "globalDy", gp)
            if fg:
                ratio = w["globalRigidityForeground"] / w["globalRigidityBackground"]
                terms["globalRigidity"] = terms["globalRigidity"] + ratio * rig("foreground", "globalDx", "globalDy", gp)

    if m > 0:
        to_pixels = 1 / (MAPPING_SCALE * px)
        flow_points = coords[:m]
        a0 = model.alpha(flow_points) if fg else None
        flow_term = 0
        alpha_flow = 0
        for key, valid_key, index_key, direction in (
            ("forward", "forwardValid", "forwardIndex", 1),
            ("backward", "backwardValid", "backwardIndex", -1),
        ):
            moved, ok = flow_targets(
                flows[key], flows[valid_key], batch[index_key], flow_points, width, height, frames, direction
            )
            for layer in layers:
                d = (model.map(layer, flow_points) - model.map(layer, moved)).norm(dim=1)
                wgt = ok if not fg else (ok * (1 - a0) if layer == "background" else ok * a0)
                flow_term = flow_term + (wgt * d).mean() * to_pixels
            if fg:
                alpha_flow = alpha_flow + (ok * (a0 - model.alpha(moved)).abs()).mean()
        terms["flow"] = flow_term
        if fg:
            terms["alphaFlow"] = alpha_flow

    total = 0
    for k in TERMS:
        if k in terms and weight[k]:
            total = total + weight[k] * terms[k]
    return total, terms, recon

"""The peer: the same step in PyTorch eager, and PyTorch's own GEMM floor. PyTorch is optional
(``pip install -e ".[bench]"``); every function here imports it when called."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...layers import BatchNorm, Maxout
from ...networks import MLP
from ...training import GAN
from .configs import AnyConfig, BenchConfig, PacGANConfig, product_plan

Peer = tuple[Callable[[], Any], Callable[[], Any], str]  # (step, sync, torch version)


def torch_step_fn(cfg: BenchConfig, gan: GAN, device: str, threads: int | None) -> Peer:
    """The same step in PyTorch eager: same nets (weights copied), Adam, batch, loss."""
    import torch
    import torch.nn.functional as F

    if threads:
        torch.set_num_threads(threads)
    dev = torch.device(device)
    G, D = _torch_net(gan.G, gan, dev, copy_bias=False), _torch_net(gan.D, gan, dev, copy_bias=False)
    c = gan.config
    g_opt = torch.optim.Adam(G.parameters(), lr=c.g_lr, betas=tuple(c.betas))
    d_opt = torch.optim.Adam(D.parameters(), lr=c.d_lr, betas=tuple(c.betas))
    m = cfg.batch

    def step():
        # D step: L_D = mean sp(−l_r) + mean sp(l_f), on one pass over [x; G(z)]
        z = torch.randn(m, cfg.noise_dim, device=dev)
        x = torch.randn(m, cfg.data_dim, device=dev)
        with torch.no_grad():
            fake = G(z)
        logits = D(torch.cat([x, fake]))
        loss_d = F.softplus(-logits[:m]).mean() + F.softplus(logits[m:]).mean()
        d_opt.zero_grad(set_to_none=True)
        loss_d.backward()
        d_opt.step()
        # G step, fresh noise: L_G = mean sp(−D(G(z))); D's weights need no gradient here
        D.requires_grad_(False)
        z = torch.randn(m, cfg.noise_dim, device=dev)
        loss_g = F.softplus(-D(G(z))).mean()
        g_opt.zero_grad(set_to_none=True)
        loss_g.backward()
        g_opt.step()
        D.requires_grad_(True)

    return step, _sync(dev), torch.__version__


def torch_pacgan_step_fn(
    cfg: PacGANConfig, gan: GAN, device: str, threads: int | None, batch: Callable[[], Any] | None = None
) -> Peer:
    """PacGAN's simultaneous step in PyTorch eager: the same nets (weights copied; batch norm
    with the same momentum and eps, maxout as a max over the pieces of one Linear), one forward
    pass over [x; G(z)], ∇θd L_D and ∇θg L_G from it (``torch.autograd.grad``), then both Adam
    steps (β1 = 0.8). ``batch()`` → (z, x) tensors replaces the draws (the tests compare a step
    with minigan's on the same batch); ``step.nets`` is (G, D)."""
    import torch
    import torch.nn.functional as F

    if threads:
        torch.set_num_threads(threads)
    dev = torch.device(device)
    G, D = _torch_net(gan.G, gan, dev), _torch_net(gan.D, gan, dev)
    c = gan.config
    g_params, d_params = list(G.parameters()), list(D.parameters())
    g_opt = torch.optim.Adam(g_params, lr=c.g_lr, betas=tuple(c.betas))
    d_opt = torch.optim.Adam(d_params, lr=c.d_lr, betas=tuple(c.betas))
    m = cfg.batch

    def draw():
        return torch.randn(m, cfg.noise_dim, device=dev), torch.randn(m, cfg.data_dim, device=dev)

    def step():
        z, x = (batch or draw)()
        logits = D(torch.cat([x, G(z)]))
        l_r, l_f = logits[:m], logits[m:]
        loss_d = F.softplus(-l_r).mean() + F.softplus(l_f).mean()
        loss_g = F.softplus(-l_f).mean()
        d_grads = torch.autograd.grad(loss_d, d_params, retain_graph=True)
        g_grads = torch.autograd.grad(loss_g, g_params)
        for ps, gs in ((d_params, d_grads), (g_params, g_grads)):
            for p, g in zip(ps, gs):
                p.grad = g
        d_opt.step()
        g_opt.step()

    step.nets = (G, D)  # type: ignore[attr-defined]  # for the tests
    return step, _sync(dev), torch.__version__


def torch_floor_fn(cfg: AnyConfig, device: str) -> Callable[[], Any]:
    """PyTorch's GEMM floor: the products of ``product_plan`` in ``torch`` (``p @ q``) on
    operands made once. Threads: as ``torch_step_fn`` set them."""
    import torch

    dev = torch.device(device)
    plan = product_plan(cfg, lambda shape: torch.randn(*shape, device=dev))

    def run():
        for p, q in plan:
            r = p @ q
        return r

    return run


def _sync(dev: Any) -> Callable[[], Any]:
    import torch

    return torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)


def _torch_net(mlp: MLP, gan: GAN, dev: Any, copy_bias: bool = True) -> Any:
    """``mlp`` as a ``torch.nn.Sequential`` on ``dev`` with its weights copied: Linear (its bias
    copied, or zero when not ``copy_bias``), Maxout (a Linear, then the max over its pieces),
    BatchNorm (γ, β, eps and momentum), ReLU for every other layer."""
    import torch

    mods = []
    for layer in mlp.layers:
        if isinstance(layer, Maxout):
            mods += [_torch_linear(layer.linear, gan), _max_over_pieces(layer.units, layer.pieces)]
        elif isinstance(layer, BatchNorm):
            bn = torch.nn.BatchNorm1d(layer.features, eps=layer.eps, momentum=layer.momentum)
            with torch.no_grad():
                bn.weight.copy_(_tensor(gan, layer.params["gamma"]))
                bn.bias.copy_(_tensor(gan, layer.params["beta"]))
            mods.append(bn)
        elif "W" in layer.params:
            mods.append(_torch_linear(layer, gan, copy_bias))
        else:
            mods.append(torch.nn.ReLU())
    return torch.nn.Sequential(*mods).to(dev)


def _tensor(gan: GAN, a: Any) -> Any:
    import torch

    return torch.from_numpy(gan.backend.to_numpy(a).copy())


def _torch_linear(layer: Any, gan: GAN, copy_bias: bool = True) -> Any:
    """A ``torch.nn.Linear`` with ``layer``'s W (torch keeps Wᵀ) and b (or a zero bias)."""
    import torch

    W = _tensor(gan, layer.params["W"])
    lin = torch.nn.Linear(W.shape[0], W.shape[1])
    with torch.no_grad():
        lin.weight.copy_(W.T)
        if copy_bias:
            lin.bias.copy_(_tensor(gan, layer.params["b"]))
        else:
            lin.bias.zero_()
    return lin


def _max_over_pieces(units: int, pieces: int) -> Any:
    """A ``torch.nn.Module``: (N, units·pieces) → (N, units), the max over each unit's pieces."""
    import torch

    class Max(torch.nn.Module):
        def __init__(self, units, pieces):
            super().__init__()
            self.units, self.pieces = units, pieces

        def forward(self, z):  # minigan's layout: column j·pieces + p is unit j's piece p
            return z.view(z.shape[0], self.units, self.pieces).amax(dim=-1)

    return Max(units, pieces)

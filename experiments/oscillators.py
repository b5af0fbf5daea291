"""Casoni et al. (Casoni et al., IJCNN 2025): oscillating skew-symmetric CTRNNs.

Four parts, each a PNG, plus ``summary.txt`` with the measured numbers:

1. ``fig1_2_state_space.png``: 2-D state space of ``z' = A σ(z)`` with
   ``A = [[0, −ω], [ω, 0]]`` for σ = identity, tanh, hard-tanh (Fig. 2), over
   the level sets of the invariant ``H = Σ S(z_i)`` (Fig. 1: log cosh x cosh y).
2. ``fig3_non_odd.png``: sigmoid and ReLU break the closed orbits (Fig. 3); the
   ReLU run diverges and is stopped at a norm threshold (red cross).
3. ``fig4_spectra.png``: spectra for several ω (Fig. 4); the linear network's
   dominant frequency is ω/2π.
4. ``fig5_euler.png``: forward Euler with n = 2, 20, 40, linear vs tanh (Fig. 5),
   with the short-time spectrum of the read-out; growth of ‖z‖ and of H.

The paper's exact step sizes, ω and lengths are not available; the values
used here are chosen to show each effect and are printed in the summary.

    python experiments/oscillators.py --out runs/oscillators
"""

from __future__ import annotations

import argparse
import pathlib

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import jaxrnn  # noqa: E402
from jaxrnn.analysis import (  # noqa: E402
    dominant_frequency,
    energy,
    invariant_drift,
    power_spectrum,
    spectrogram,
)


def rotation(omega: float) -> jnp.ndarray:
    return jnp.array([[0.0, -omega], [omega, 0.0]])


def rate_net(A, activation):
    return jaxrnn.CTRNN.from_arrays(A, decay=0.0, activation=activation, form="rate")


def part1(out, lines, omega, t1):
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.3))
    grid = np.linspace(-3.5, 3.5, 301)
    X, Y = np.meshgrid(grid, grid)
    lines.append(f"[1] z' = A sigma(z), A = [[0,-w],[w,0]], w = {omega}, Tsit5 rtol=atol=1e-10, "
                 f"t in [0, {t1}]")
    for ax, act in zip(axes, ["identity", "tanh", "hardtanh"]):
        model = rate_net(rotation(omega), act)
        H = np.asarray(energy(model, jnp.stack([X, Y], axis=-1)))
        ax.contour(X, Y, H, levels=12, colors="0.75", linewidths=0.6)
        for r in (0.5, 1.5, 2.5):
            z0 = jnp.array([r, 0.0])
            sol = jaxrnn.simulate(model, z0, t1=t1, dt=0.01, solver="tsit5", rtol=1e-10,
                                  atol=1e-10, max_steps=200_000)
            ys = np.asarray(sol.ys)
            ax.scatter(ys[:, 0], ys[:, 1], c=np.arange(len(ys)), s=0.5, cmap="viridis")
            ax.plot(*ys[0], "ko", ms=4)
            ax.plot(*ys[-1], "b*", ms=8)
            drift = float(np.max(np.asarray(invariant_drift(model, sol.ys))))
            period = 1.0 / float(dominant_frequency(sol.ys[:, 0], 0.01))  # from the spectral peak
            lines.append(f"    {act:9s} z0=({r}, 0): max relative drift of H = {drift:.1e}, "
                         f"period (spectral peak) = {period:.3f} (linear: 2 pi/w = {2 * np.pi / omega:.3f})")
        ax.set_title(f"{act}: level sets of H and orbits")
        ax.set_aspect("equal")
        ax.set_xlim(-3.5, 3.5)
        ax.set_ylim(-3.5, 3.5)
    fig.tight_layout()
    fig.savefig(out / "fig1_2_state_space.png", dpi=110)
    plt.close(fig)


def part2(out, lines, omega, t1, threshold):
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.3))
    lines.append(f"[2] non-odd activations, same A, z0 = (1, 0.5), divergence threshold |z| > "
                 f"{threshold}")
    for ax, act in zip(axes, ["sigmoid", "relu"]):
        model = rate_net(rotation(omega), act)
        sol = jaxrnn.simulate(model, jnp.array([1.0, 0.5]), t1=t1, dt=0.01, solver="tsit5",
                              rtol=1e-10, atol=1e-10, divergence_threshold=threshold,
                              max_steps=200_000)
        ys = np.asarray(sol.ys)
        ok = np.isfinite(ys).all(axis=1)
        ax.scatter(ys[ok, 0], ys[ok, 1], c=np.arange(ok.sum()), s=0.5, cmap="viridis")
        ax.plot(*ys[0], "ko", ms=4)
        last = ys[ok][-1]
        if bool(sol.diverged):
            ax.plot(*last, "rx", ms=12, mew=2)
            t_stop = float(np.asarray(sol.ts)[ok][-1])
            lines.append(f"    {act}: DIVERGED, stopped near t = {t_stop:.2f} at |z| = "
                         f"{np.linalg.norm(last):.1f} (marked x)")
        else:
            closes = np.linalg.norm(ys[ok] - ys[0], axis=1)[len(ys) // 4:].min()
            lines.append(f"    {act}: no divergence; closest return to z0 after t1/4: "
                         f"{closes:.3f}; final |z| = {np.linalg.norm(last):.2f} "
                         f"(start {np.linalg.norm(ys[0]):.2f})")
        ax.set_title(f"{act}: orbits do not close")
    fig.tight_layout()
    fig.savefig(out / "fig3_non_odd.png", dpi=110)
    plt.close(fig)


def part3(out, lines, omegas, t1, dt):
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    lines.append(f"[3] spectra, z0 = (1, 0), Tsit5 sampled every dt = {dt}, t1 = {t1}")
    for ax, act in zip(axes, ["identity", "tanh", "hardtanh"]):
        for omega in omegas:
            model = rate_net(rotation(omega), act)
            sol = jaxrnn.simulate(model, jnp.array([1.0, 0.0]), t1=t1, dt=dt, solver="tsit5",
                                  rtol=1e-10, atol=1e-10, max_steps=500_000)
            f, P = power_spectrum(sol.ys[:, 0], dt)
            ax.semilogy(np.asarray(f), np.asarray(P) + 1e-20, lw=0.8, label=f"w={omega}")
            peak = float(dominant_frequency(sol.ys[:, 0], dt))
            lines.append(f"    {act:9s} w={omega:5}: dominant frequency {peak:.4f} Hz "
                         f"(w/2pi = {omega / (2 * np.pi):.4f})")
        ax.set_xlim(0, max(omegas) / np.pi)
        ax.set_ylim(1e-6, None)
        ax.set_xlabel("frequency (Hz)")
        ax.set_title(act)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "fig4_spectra.png", dpi=110)
    plt.close(fig)


def part4(out, lines, sizes, h, steps, seed):
    fig, axes = plt.subplots(2, len(sizes) * 2, figsize=(4 * len(sizes) * 2, 6))
    lines.append(f"[4] forward Euler, step h = {h}, {steps} steps, random skew A = S - S^T with "
                 f"S ~ N(0, 1/(2n)) (seed {seed}), z0 ~ N(0, 1)")
    col = 0
    for n in sizes:
        A = jaxrnn.CTRNN(n, 0, recurrent="skew", key=jax.random.PRNGKey(seed + n)).W
        z0 = jax.random.normal(jax.random.PRNGKey(1000 + n), (n,))
        for act in ["identity", "tanh"]:
            model = rate_net(A, act)
            sol = jaxrnn.simulate(model, z0, t1=steps * h, dt=h, divergence_threshold=None)
            ys = np.asarray(sol.ys)
            norms = np.linalg.norm(ys, axis=1)
            H = np.asarray(energy(model, sol.ys))
            lines.append(f"    n={n:2d} {act:8s}: |z| {norms[0]:.3f} -> {norms[-1]:.4g} "
                         f"(x{norms[-1] / norms[0]:.4g}); H {H[0]:.4g} -> {H[-1]:.4g} "
                         f"(relative change {(H[-1] - H[0]) / abs(H[0]):+.3g})")
            axes[0, col].plot(np.asarray(sol.ts), ys[:, 0], lw=0.6)
            axes[0, col].set_title(f"n={n}, {act}", fontsize=9)
            t, f, S = spectrogram(sol.ys[:, 0], h, window_length=256)
            axes[1, col].pcolormesh(np.asarray(t), np.asarray(f), np.log10(np.asarray(S).T + 1e-12),
                                    shading="auto")
            axes[1, col].set_ylim(0, 1.0)
            axes[1, col].set_xlabel("time")
            col += 1
    axes[0, 0].set_ylabel("z_1")
    axes[1, 0].set_ylabel("frequency (Hz)")
    fig.tight_layout()
    fig.savefig(out / "fig5_euler.png", dpi=100)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description="Casoni et al.: oscillating skew-symmetric CTRNNs")
    p.add_argument("--out", default="runs/oscillators")
    p.add_argument("--omega", type=float, default=1.0)
    p.add_argument("--t1", type=float, default=30.0)
    p.add_argument("--omegas", type=float, nargs="+", default=[1.0, 5.0, 10.0, 25.0])
    p.add_argument("--sizes", type=int, nargs="+", default=[2, 20, 40])
    p.add_argument("--euler-step", type=float, default=0.1)
    p.add_argument("--euler-steps", type=int, default=5000)
    p.add_argument("--threshold", type=float, default=50.0)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = ["Casoni et al.: oscillating skew-symmetric CTRNNs (float64). Parameters chosen here; "
             "the paper's exact values are not available.", ""]
    part1(out, lines, args.omega, args.t1)
    part2(out, lines, args.omega, 4 * args.t1, args.threshold)
    part3(out, lines, args.omegas, 60.0, 0.005)
    part4(out, lines, args.sizes, args.euler_step, args.euler_steps, args.seed)
    (out / "summary.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwrote figures and summary.txt to {out}")


if __name__ == "__main__":
    main()

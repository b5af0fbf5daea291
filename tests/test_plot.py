"""Plots render: state space with every layer, 3-D projections (written to PNG files)."""

import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import jaxrnn  # noqa: E402
from jaxrnn.analysis import basins, find_fixed_points, fixed_points, stable_manifold  # noqa: E402
from jaxrnn.plot import state_space, trajectory_3d  # noqa: E402
from jaxrnn.systems import bistable_plrnn  # noqa: E402


def test_state_space_draws_every_layer(tmp_path, x64):
    plrnn = bistable_plrnn()
    fps = fixed_points(plrnn)
    Ws = stable_manifold(plrnn, fps, index=[k.startswith("saddle") for k in fps.kinds].index(True))
    g = np.linspace(-10, 10, 41)
    X, Y = np.meshgrid(g, g)
    b = basins(plrnn, np.stack([X.ravel(), Y.ravel()], 1), n_steps=300)
    traj = jaxrnn.simulate(plrnn, jnp.array([1.0, -1.0]), 50).ys
    fig, ax = plt.subplots()
    state_space(plrnn, ax, xlim=(-10, 10), ylim=(-10, 10), fixed_points=fps, manifolds=[Ws],
                basins=b, basin_grid=(X, Y), trajectories=[traj], title="t")
    labels = ax.get_legend_handles_labels()[1]
    assert set(labels) == {"stable node", "saddle (1 unstable)"}
    assert len(ax.collections) >= 4  # basins, quiver, manifold, fixed points (+ nullclines)
    fig.savefig(tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 10_000
    # a flow with find_fixed_points results
    ctrnn = jaxrnn.CTRNN.from_arrays(jnp.array([[0.5, -2.0], [2.0, 0.5]]))
    fig2, ax2 = plt.subplots()
    state_space(ctrnn, ax2, fixed_points=find_fixed_points(ctrnn, 0.1 * jnp.ones((3, 2))))
    assert ax2.get_legend_handles_labels()[1] == ["stable spiral"]


def test_trajectory_3d(tmp_path):
    ys = np.random.default_rng(0).normal(size=(100, 5))
    ax = trajectory_3d(ys, dims=(0, 2, 4), points=ys[:2])
    assert ax.get_xlabel() == "z1" and ax.get_zlabel() == "z5"
    ax.figure.savefig(tmp_path / "t.png")
    plt.close("all")

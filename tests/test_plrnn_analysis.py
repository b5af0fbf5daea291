"""PLRNN analysis: exact fixed points and cycles, SCYFI, manifolds, basins, homoclinic
points, Lyapunov spectra (REFERENCE §3–§5)."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn.analysis import (
    DIVERGENT,
    basins,
    check_invertible,
    cycles,
    fixed_points,
    homoclinic_points,
    kaplan_yorke_dimension,
    lyapunov_spectrum,
    stable_manifold,
    trajectory_seeds,
    unstable_manifold,
)
from jaxrnn.systems import Henon, Lorenz63, bistable_plrnn, chaotic_plrnn


def random_plrnn(seed, M):
    rng = np.random.default_rng(seed)
    W = rng.normal(0, 1.5, (M, M))
    np.fill_diagonal(W, 0.0)
    return jaxrnn.PLRNN.from_arrays(rng.uniform(-1, 1, M), W, rng.normal(0, 1, M))


def brute_force(plrnn, k, tol=1e-10):
    """Every region sequence solved with NumPy; returns the real k-cycles as a list of (k, M)."""
    A, W, h = (np.asarray(a, dtype=float) for a in (plrnn.A, plrnn.W, plrnn.h))
    M = A.size
    seqs = np.array(list(itertools.product(itertools.product((0, 1), repeat=M), repeat=k)),
                    dtype=float)  # (S, k, M)
    mats = np.diag(A)[None, None] + W[None, None] * seqs[:, :, None, :]
    P = np.broadcast_to(np.eye(M), (len(seqs), M, M)).copy()
    c = np.zeros((len(seqs), M))
    for j in range(k):
        P = mats[:, j] @ P
        c = np.einsum("sij,sj->si", mats[:, j], c) + h
    lhs = np.eye(M)[None] - P
    ok = np.abs(np.linalg.det(lhs)) > tol
    z = np.linalg.solve(lhs[ok], c[ok][..., None])[..., 0]
    seqs, mats = seqs[ok], mats[ok]
    zs = []
    for j in range(k):
        zs.append(z)
        z = np.einsum("sij,sj->si", mats[:, j], z) + h
    zs = np.stack(zs, axis=1)  # (S, k, M)
    real = np.all(np.where(seqs > 0.5, zs >= -tol, zs <= tol), axis=(1, 2))
    out = []
    for cyc in zs[real]:
        if any(k % p == 0 and np.allclose(cyc[p], cyc[0], atol=1e-8) for p in range(1, k)):
            continue  # a shorter period
        if all(not any(np.allclose(np.roll(cyc, r, axis=0), o, atol=1e-8) for r in range(k))
               for o in out):
            out.append(cyc)
    return out


def same_cycles(found, reference, atol=1e-8):
    assert len(reference) >= 1, "vacuous comparison: pick a case with solutions"
    assert len(found) == len(reference), (len(found), len(reference))
    for ref in reference:
        assert any(np.allclose(np.roll(ref, r, axis=0), f, atol=atol, rtol=0)
                   for f in found.points for r in range(ref.shape[0])), ref


# (M, seed) cases with 1-6 fixed points (many random PLRNNs have none)
@pytest.mark.parametrize("M, seed", [(2, 0), (2, 1), (3, 0), (3, 2), (5, 7), (5, 10), (8, 3),
                                     (8, 7)])
def test_exhaustive_fixed_points_equal_brute_force(x64, M, seed):
    model = random_plrnn(seed, M)
    found = fixed_points(model, chunk_size=64)  # small chunks: exercise the chunk loop
    same_cycles(found, brute_force(model, 1))
    for p, ev in zip(found.points, found.eigenvalues):
        J = np.asarray(model.jacobian(jnp.asarray(p[0])))
        np.testing.assert_allclose(np.sort_complex(ev), np.sort_complex(np.linalg.eigvals(J)),
                                   atol=1e-10)
        np.testing.assert_allclose(model.step(jnp.asarray(p[0]), jnp.zeros(0)), p[0], atol=1e-10)


@pytest.mark.parametrize("M, seed", [(2, 10), (3, 0), (4, 3), (6, 5), (6, 2)])
def test_exhaustive_two_cycles_equal_brute_force(x64, M, seed):
    model = random_plrnn(seed, M)
    found = cycles(model, 2)
    same_cycles(found, brute_force(model, 2))
    for cyc in found.points:
        z1 = model.step(jnp.asarray(cyc[0]), jnp.zeros(0))
        np.testing.assert_allclose(z1, cyc[1], atol=1e-10)
        np.testing.assert_allclose(model.step(z1, jnp.zeros(0)), cyc[0], atol=1e-10)


def test_random_models_without_solutions_agree_too(x64):
    for seed in (0, 1):  # no fixed points at M = 5 for these seeds
        assert len(fixed_points(random_plrnn(seed, 5))) == len(brute_force(random_plrnn(seed, 5), 1))


def test_scyfi_finds_the_exhaustive_fixed_points_at_M10(x64):
    """Over random M = 10 PLRNNs that have fixed points (many have none, which would be a
    trivial success), SCYFI with 500 starts finds all of them in most models (measured:
    12 of 13 among seeds 100-129)."""
    successes, trials, seed = 0, 0, 100
    while trials < 8:
        model = random_plrnn(seed, 10)
        exact = fixed_points(model)
        if len(exact):
            heur = fixed_points(model, method="scyfi", n_init=500, key=jax.random.PRNGKey(seed))
            successes += all(any(np.allclose(p, q, atol=1e-8) for q in heur.points)
                             for p in exact.points)
            trials += 1
        seed += 1
    assert successes >= 7, f"SCYFI found all fixed points in {successes}/{trials} models"


def test_singular_systems_are_stated_not_garbage(x64):
    # a line attractor: A_11 = 1, W row 0, h_1 = 0  =>  I - W_Omega singular in every region
    model = jaxrnn.PLRNN.from_arrays(jnp.array([1.0, 0.5]), jnp.array([[0.0, 0.0], [0.3, 0.0]]),
                                     jnp.array([0.0, 0.1]))
    found = fixed_points(model)
    assert len(found) == 0 and found.n_singular == 4
    assert any("line attractor" in note for note in found.notes)


def test_henon_exponents_and_trace_rule(x64):
    spec = lyapunov_spectrum(Henon(), jnp.array([0.1, 0.1]), 100_000, transient=1000)
    np.testing.assert_allclose(spec, [0.4204, -1.6244], atol=0.01)
    np.testing.assert_allclose(jnp.sum(spec), np.log(0.3), atol=1e-10)  # |det J| = b
    assert abs(kaplan_yorke_dimension(spec) - 1.2588) < 0.01
    # plain callable maps work too
    spec2 = lyapunov_spectrum(lambda z: Henon().step(z, jnp.zeros(0)), jnp.array([0.1, 0.1]),
                              20_000, transient=1000)
    np.testing.assert_allclose(spec2, [0.4204, -1.6244], atol=0.02)


def test_lorenz_exponents_through_simulate_with_tsit5(x64):
    spec = lyapunov_spectrum(Lorenz63(), jnp.array([1.0, 1.0, 1.0]), 100_000, dt=0.01,
                             transient=1000, renorm_every=10, solver="tsit5")
    assert abs(float(spec[0]) - 0.906) < 0.03
    assert abs(float(spec[1])) < 0.03
    np.testing.assert_allclose(jnp.sum(spec), -(10 + 1 + 8 / 3), atol=1e-3)  # trace rule
    assert abs(kaplan_yorke_dimension(spec) - 2.062) < 0.01


def test_linear_systems_are_exact(x64):
    M = jaxrnn.AffineMap(jnp.diag(jnp.array([1.1, 0.8])))
    np.testing.assert_allclose(lyapunov_spectrum(M, jnp.array([1.0, 1.0]), 50),
                               [np.log(1.1), np.log(0.8)], atol=1e-12)
    F = jaxrnn.LinearFlow(jnp.diag(jnp.array([0.1, -0.4])))
    np.testing.assert_allclose(lyapunov_spectrum(F, jnp.array([1.0, 1.0]), 200, dt=0.05),
                               [0.1, -0.4], atol=1e-9)


def test_largest_exponent_gradient_matches_finite_differences(x64):
    W = jnp.array([[0.0, 0.4], [-0.5, 0.0]])

    def largest(a):
        model = jaxrnn.PLRNN.from_arrays(jnp.array([a, 0.6]), W, jnp.array([0.2, 0.1]))
        return lyapunov_spectrum(model, jnp.array([0.5, 0.3]), 200)[0]

    g = jax.grad(largest)(0.7)
    eps = 1e-6
    fd = (largest(0.7 + eps) - largest(0.7 - eps)) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=1e-6)
    # vmappable over initial states
    batch = jax.vmap(lambda z: lyapunov_spectrum(Henon(), z, 2000, transient=100))(
        jnp.array([[0.1, 0.1], [0.2, 0.0], [-0.1, 0.1]]))
    assert batch.shape == (3, 2) and np.all(np.abs(batch[:, 0] - 0.42) < 0.05)


bistable, chaotic = bistable_plrnn, chaotic_plrnn


def _inverse(model, z):
    A, W, h = (np.asarray(a) for a in (model.A, model.W, model.h))
    for d in itertools.product((0.0, 1.0), repeat=z.size):
        pre = np.linalg.solve(np.diag(A) + W * np.array(d)[None, :], z - h)
        if np.all((pre > 0) == np.array(d, bool)):
            return pre
    raise AssertionError("no preimage")


def _dist_to_segments(p, segs):
    a, b = segs[:, 0], segs[:, 1]
    d = b - a
    t = np.clip(np.einsum("ij,ij->i", p - a, d) / np.maximum(np.einsum("ij,ij->i", d, d), 1e-300),
                0, 1)
    return np.min(np.linalg.norm(a + t[:, None] * d - p, axis=1))


def test_manifolds_are_invariant(x64):
    model = bistable()
    fps = fixed_points(model)
    saddle = [i for i, k in enumerate(fps.kinds) if k.startswith("saddle")]
    assert len(saddle) == 1 and sorted(fps.kinds).count("stable node") == 2
    U = unstable_manifold(model, fps, index=saddle[0], n_iter=20)
    S = stable_manifold(model, fps, index=saddle[0], n_iter=8)
    p = fps.points[saddle[0], 0]
    rng = np.random.default_rng(0)
    step = lambda z: np.asarray(model.step(jnp.asarray(z), jnp.zeros(0)))  # noqa: E731
    for seg in U.segments[rng.choice(len(U.segments), 40)]:
        z = seg[0] + rng.uniform() * (seg[1] - seg[0])
        assert _dist_to_segments(step(z), U.segments) < 1e-9  # forward image stays on W^u
        # Backward iterates approach the saddle (by 1/1.42 a step) while rounding errors
        # grow by 1/0.327 along the stable direction: in float64 the closest approach
        # from |z - p| ~ 1 is ~1e-4, so compare the minimum distance with 1e-3.
        back, closest = z, np.inf
        for _ in range(60):
            back = _inverse(model, back)
            closest = min(closest, np.linalg.norm(back - p))
        assert closest < 1e-3
    for seg in S.segments[rng.choice(len(S.segments), 40)]:
        z = seg[0] + rng.uniform() * (seg[1] - seg[0])
        dists = []
        for _ in range(60):
            z = step(z)
            dists.append(np.linalg.norm(z - p))
        assert min(dists) < 1e-6  # stable-manifold points converge to the saddle


def test_basin_boundary_is_the_stable_manifold_of_the_saddle(x64):
    model = bistable()
    fps = fixed_points(model)
    saddle = [i for i, k in enumerate(fps.kinds) if k.startswith("saddle")][0]
    S = stable_manifold(model, fps, index=saddle, n_iter=12)
    g = np.linspace(-6, 6, 121)
    X, Y = np.meshgrid(g, g)
    result = basins(model, np.stack([X.ravel(), Y.ravel()], axis=1), n_steps=600)
    labels = result.labels.reshape(X.shape)
    assert set(np.unique(labels)) == {0, 1}  # two attractors, everything assigned
    assert abs(sum(result.fractions.values()) - 1) < 1e-12
    spacing = g[1] - g[0]
    crossings = 0
    for axis in (0, 1):
        change = np.diff(labels, axis=axis) != 0
        for r, c in zip(*np.nonzero(change)):
            a = np.array([X[r, c], Y[r, c]])
            b = np.array([X[r + (axis == 0), c + (axis == 1)], Y[r + (axis == 0), c + (axis == 1)]])
            assert _dist_to_segments(0.5 * (a + b), S.segments) <= spacing  # boundary on W^s
            crossings += 1
    assert crossings > 50
    # ... and conversely: points just either side of W^s carry different labels
    sample = S.segments[np.linalg.norm(S.segments.mean(axis=1), axis=1) < 5]
    assert len(sample) > 10
    mid = sample.mean(axis=1)
    tangent = sample[:, 1] - sample[:, 0]
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], 1)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    delta = 0.02
    sides = basins(model, np.concatenate([mid + delta * normal, mid - delta * normal]),
                   n_steps=600).labels.reshape(2, -1)
    assert np.all(sides[0] != sides[1])


def test_divergent_initial_states_are_labelled():
    model = jaxrnn.PLRNN.from_arrays(jnp.array([1.5, 0.5]), jnp.zeros((2, 2)), jnp.zeros(2))
    result = basins(model, np.array([[1.0, 0.0], [-1.0, 0.0]]), n_steps=200,
                    divergence_threshold=1e6)
    assert result.labels.tolist() == [DIVERGENT, DIVERGENT]


def test_homoclinic_points_of_a_saddle_cycle_in_a_chaotic_plrnn(x64):
    model = chaotic()
    spec = lyapunov_spectrum(model, jnp.array([0.1, -0.2]), 20_000, transient=1000)
    assert float(spec[0]) > 0.05  # chaotic
    ys = jaxrnn.simulate(model, jnp.array([0.1, -0.2]), 3000).ys[500:]
    k = 12
    found = cycles(model, k, method="scyfi", n_init=100, seeds=trajectory_seeds(ys, k, stride=5))
    assert len(found) >= 1 and found.kinds[0].startswith("saddle")
    U = unstable_manifold(model, found, index=0, n_iter=2)
    S = stable_manifold(model, found, index=0, n_iter=2)
    H = homoclinic_points(U, S)
    assert len(H) >= 1
    p = found.points[0, 0]
    step = lambda z: np.asarray(model.step(jnp.asarray(z), jnp.zeros(0)))  # noqa: E731
    q = H[np.argmax(np.linalg.norm(H - p, axis=1))]  # the one farthest from the cycle point
    # On W^s: forward iterates of the k-th power converge to the cycle point.
    fwd, best_f = q.copy(), np.inf
    for _ in range(6):
        for _ in range(k):
            fwd = step(fwd)
        best_f = min(best_f, np.linalg.norm(fwd - p))
    assert best_f < 1e-6, best_f
    # On W^u: its preimage under the k-th power lies on W^u again. (Iterating backward to
    # the cycle is not observable in float64: the cycle's strong contraction along W^s
    # amplifies rounding errors by its inverse every period.)
    back = q.copy()
    for _ in range(k):
        back = _inverse(model, back)
    assert _dist_to_segments(back, U.segments) < 1e-8


def test_manifolds_refuse_non_invertible_maps():
    model = jaxrnn.PLRNN.from_arrays(jnp.array([0.9, 0.9]), jnp.array([[0.0, -2.0], [-2.0, 0.0]]),
                                     jnp.array([0.3, 0.3]))
    with pytest.raises(ValueError, match="not invertible"):
        check_invertible(model)
    with pytest.raises(ValueError, match="not invertible"):
        unstable_manifold(model, jnp.array([0.1, 0.1]))


def test_basins_of_a_stable_two_cycle_and_a_fixed_point_match_brute_force(x64):
    """A 2-unit PLRNN with a stable fixed point beside a stable 2-cycle (Eisenmann et al.): `cycles`
    finds both and calls them stable (|eigenvalues| of the Jacobian product < 1, checked
    here by hand), and `basins` labels a 20 × 20 grid of initial states exactly as plain
    NumPy iteration of the map does."""
    from jaxrnn.analysis import DIVERGENT, basins, cycles

    A = np.array([-0.73, -0.46])
    W = np.array([[0.0, -1.61], [-0.27, 0.0]])
    h = np.array([-0.3, 1.12])
    plrnn = jaxrnn.PLRNN.from_arrays(A=jnp.asarray(A), W=jnp.asarray(W), h=jnp.asarray(h))

    def step(z):
        return A * z + W @ np.maximum(z, 0.0) + h

    def jac(z):
        return np.diag(A) + W * (z > 0)

    fixed = [p for p, s in zip(cycles(plrnn, 1).points, cycles(plrnn, 1).stable) if s]
    two = [p for p, s in zip(cycles(plrnn, 2).points, cycles(plrnn, 2).stable) if s]
    assert len(fixed) == 1 and len(two) == 1
    z_star, (c0, c1) = np.asarray(fixed[0])[0], np.asarray(two[0])
    np.testing.assert_allclose(step(z_star), z_star, atol=1e-12)
    np.testing.assert_allclose(step(c0), c1, atol=1e-12)
    np.testing.assert_allclose(step(c1), c0, atol=1e-12)
    assert np.max(np.abs(np.linalg.eigvals(jac(z_star)))) < 1
    assert np.max(np.abs(np.linalg.eigvals(jac(c1) @ jac(c0)))) < 1
    g = np.linspace(-4.0, 4.0, 20)
    z0 = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    result = basins(plrnn, z0, n_steps=600)
    labels = np.asarray(result.labels)
    kinds = list(result.kinds)
    expected = []
    for z in z0:
        for _ in range(600):
            z = step(z)
        if not np.all(np.isfinite(z)) or np.abs(z).max() > 1e6:
            expected.append(DIVERGENT)
        elif np.linalg.norm(z - z_star) < 1e-6:
            expected.append(kinds.index("fixed point"))
        else:
            assert min(np.linalg.norm(z - c0), np.linalg.norm(z - c1)) < 1e-6
            expected.append(kinds.index("2-cycle"))
    np.testing.assert_array_equal(labels, expected)
    assert 0 < np.mean(labels == kinds.index("2-cycle")) < 1  # both basins are hit

"""The EM of the PLRNN state-space model (Schmidt et al., Sect. 3.4, Suppl. 7.1.3) against
independent computations: autodiff Hessians, brute-force minimisation, dense inverses, a
Kalman/RTS smoother, Monte Carlo, numerical maximisation and recovery of a known system."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import multivariate_normal

from jaxrnn.em import (
    BlockTridiagonal,
    EMSettings,
    PLRNNStateSpace,
    authors_init,
    bivariate_normal_cdf,
    fit_em,
    hessian,
    m_step,
    moments,
    posterior,
    regularised_units,
    relu_cross_authors,
    relu_cross_exact,
    relu_cross_z,
    relu_mean,
    relu_square,
    run_stage,
    sufficient_statistics,
)
from jaxrnn.em._mstep import penalty


def _model(key, M=3, N=2, K=1, sigma=0.3, T=20):
    x = jax.random.normal(jax.random.fold_in(key, 1), (T, N))
    m = authors_init(jax.random.fold_in(key, 2), M, x, input_size=K)
    C = 0.3 * jax.random.normal(jax.random.fold_in(key, 3), (M, K))
    m = PLRNNStateSpace(m.A, m.W, m.h, C, m.mu0, m.B, 0.5 + m.Gamma, jnp.asarray(sigma))
    s = jax.random.normal(jax.random.fold_in(key, 4), (T, K))
    return m, x, s


# ---------------------------------------------------------------- block-tridiagonal algebra


# four shapes (T = 1 has no off-diagonal blocks; M = 1 scalar blocks), each compiled once,
# with random contents per example
@given(st.sampled_from([(1, 3), (2, 1), (5, 2), (7, 4)]), st.integers(0, 10_000))
def test_block_tridiagonal_solve_and_inverse_bands_equal_dense(x64, shape, seed):
    T, M = shape
    rng = np.random.default_rng(seed)
    blocks = rng.normal(size=(T, M, M))
    diag = np.einsum("tij,tkj->tik", blocks, blocks) + 4.0 * np.eye(M)
    lower = rng.normal(size=(max(T - 1, 0), M, M))
    H = BlockTridiagonal(jnp.asarray(diag), jnp.asarray(lower))
    dense = np.asarray(H.to_dense())
    assert np.allclose(dense, dense.T)
    if np.linalg.eigvalsh(dense).min() <= 1e-6:
        return  # not positive definite: outside the class
    v = rng.normal(size=(T, M))
    np.testing.assert_allclose(np.asarray(H.solve(jnp.asarray(v))).ravel(),
                               np.linalg.solve(dense, v.ravel()), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(np.asarray(H.matvec(jnp.asarray(v))).ravel(), dense @ v.ravel(),
                               atol=1e-12)
    inv = np.linalg.inv(dense)
    vd, vl = H.inverse_bands()
    for t in range(T):
        np.testing.assert_allclose(vd[t], inv[t * M:(t + 1) * M, t * M:(t + 1) * M], atol=1e-10)
    for t in range(T - 1):
        np.testing.assert_allclose(vl[t], inv[(t + 1) * M:(t + 2) * M, t * M:(t + 1) * M],
                                   atol=1e-10)


# ---------------------------------------------------------------- E-step


@pytest.mark.parametrize("linear", [False, True])
@pytest.mark.parametrize("observation", ["relu", "identity"])
def test_hessian_is_the_autodiff_hessian_of_the_negative_log_joint_in_its_orthant(
    x64, linear, observation
):
    key = jax.random.PRNGKey(7)
    m, x, s = _model(key, T=9)
    m = PLRNNStateSpace(m.A, m.W, m.h, m.C, m.mu0, m.B, m.Gamma, m.sigma, observation)
    x = x.at[4].set(jnp.nan)  # a missing observation
    T, M = x.shape[0], m.latent_size
    z = jax.random.normal(jax.random.fold_in(key, 9), (T, M))
    d = (z > 0).astype(z.dtype)
    f = lambda zz: -m.log_joint(zz.reshape(T, M), x, s, linear=linear)
    H, v = hessian(m, x, d, s, linear=linear, eps=0.0)
    np.testing.assert_allclose(H.to_dense(), jax.jit(jax.hessian(f))(z.ravel()), atol=1e-11)
    # the linear term: ∇f(z) = H z − v inside the orthant
    np.testing.assert_allclose(
        (H.matvec(z) - v).ravel(), jax.jit(jax.grad(f))(z.ravel()), atol=1e-11
    )


def test_consistent_mode_is_a_local_minimum_of_the_negative_log_joint(x64):
    """BFGS on the full (piecewise-quadratic) negative log joint, started next to the
    E-step's mode, returns to it whenever the E-step's sign pattern is consistent."""
    checked = 0
    value_and_grad = eqx.filter_jit(
        jax.value_and_grad(lambda zz, m, x, s: -m.log_joint(zz.reshape(12, 3), x, s))
    )
    for seed in range(12):
        key = jax.random.PRNGKey(seed)
        m, _, s = _model(key, M=3, T=12, sigma=0.1)
        x, _ = m.free_run(12, s, key=jax.random.fold_in(key, 8))  # data of the model itself
        z0 = jax.random.normal(jax.random.fold_in(key, 5), (12, 3))
        post = posterior(m, x, z0, s, key=key, eps=0.0, cov_floor=1e-300)
        if int(post.violations) != 0:
            continue
        checked += 1

        def fg(zz, m=m, x=x, s=s):
            v, g = value_and_grad(jnp.asarray(zz), m, x, s)
            return float(v), np.asarray(g)

        start = np.asarray(post.mean).ravel() + 1e-3 * np.random.default_rng(seed).normal(
            size=36)
        res = scipy.optimize.minimize(fg, start, jac=True, method="BFGS",
                                      options={"gtol": 1e-10})
        np.testing.assert_allclose(res.x, np.asarray(post.mean).ravel(), atol=1e-6)
        assert fg(np.asarray(post.mean).ravel())[0] <= res.fun + 1e-9
    assert checked >= 3


def _kalman_rts(F, h, mu0, sigma, B, Gamma, x):
    """A textbook Kalman filter and Rauch–Tung–Striebel smoother (with lag-one
    covariances) for z_1 ~ N(μ₀, σI), z_t = F z_{t−1} + h + ε, x_t = B z_t + η."""
    T, M = x.shape[0], F.shape[0]
    Q, Rn = sigma * np.eye(M), np.diag(Gamma)
    m_f, P_f, m_p, P_p = [], [], [], []
    m, P = mu0, Q
    for t in range(T):
        if t > 0:
            m, P = F @ m_f[-1] + h, F @ P_f[-1] @ F.T + Q
        m_p.append(m)
        P_p.append(P)
        S = B @ P @ B.T + Rn
        K = P @ B.T @ np.linalg.inv(S)
        m_f.append(m + K @ (x[t] - B @ m))
        P_f.append(P - K @ B @ P)
    ms, Ps, Pl = [m_f[-1]], [P_f[-1]], []
    for t in range(T - 2, -1, -1):
        J = P_f[t] @ F.T @ np.linalg.inv(P_p[t + 1])
        ms.insert(0, m_f[t] + J @ (ms[0] - m_p[t + 1]))
        Pl.insert(0, Ps[0] @ J.T)  # Cov(z_{t+1}, z_t)
        Ps.insert(0, P_f[t] + J @ (Ps[0] - P_p[t + 1]) @ J.T)
    return np.array(ms), np.array(Ps), np.array(Pl)


def test_lds_e_step_equals_a_kalman_rts_smoother(x64):
    key = jax.random.PRNGKey(3)
    m, x, _ = _model(key, M=3, N=2, K=0, T=15, sigma=0.4)
    post = posterior(m, x, jnp.zeros((15, 3)), key=key, linear=True, eps=0.0, cov_floor=0.0)
    F = np.diag(np.asarray(m.A)) + np.asarray(m.W)
    ms, Ps, Pl = _kalman_rts(F, np.asarray(m.h), np.asarray(m.mu0), float(m.sigma),
                             np.asarray(m.B), np.asarray(m.Gamma), np.asarray(x))
    np.testing.assert_allclose(post.mean, ms, atol=1e-10)
    np.testing.assert_allclose(post.cov_diag, Ps, atol=1e-10)
    np.testing.assert_allclose(post.cov_lower, Pl, atol=1e-10)


def test_pattern_iteration_follows_the_authors_rules(x64):
    """Flip-all from any start ends consistent, on a revisit, or when the error rose; the
    returned z was produced by the returned pattern (z = H(d)⁻¹ v(d))."""
    key = jax.random.PRNGKey(11)
    m, x, s = _model(key, M=4, T=30, sigma=0.2)
    for single in (False, True):
        post = posterior(m, x, jax.random.normal(key, (30, 4)), s, key=key, single_flip=single)
        H, v = hessian(m, x, post.pattern, s)
        np.testing.assert_allclose(post.mean, H.solve(v), atol=1e-10)
        viol = int(jnp.sum(post.pattern != (post.mean > 0)))
        assert viol == int(post.violations)
        assert 1 <= int(post.passes) <= 200
    capped = posterior(m, x, jax.random.normal(key, (30, 4)), s, key=key, single_flip=True,
                       max_passes=2)
    assert int(capped.passes) <= 2


# ---------------------------------------------------------------- expectations


def test_relu_moments_against_monte_carlo(x64):
    rng = np.random.default_rng(0)
    n = 1_000_000
    for mu, var, rho in [((0.3, -0.5), (1.2, 0.7), 0.6), ((1.0, 2.0), (0.5, 2.0), -0.8),
                         ((-1.0, 0.2), (1.0, 1.0), 0.95), ((0.0, 0.0), (1.0, 1.0), 0.9)]:
        c = rho * math.sqrt(var[0] * var[1])
        z = rng.multivariate_normal(mu, [[var[0], c], [c, var[1]]], size=n)
        p = np.maximum(z, 0.0)

        def check(value, samples):
            se = samples.std() / math.sqrt(n)
            assert abs(float(value) - samples.mean()) < 5 * se, (value, samples.mean(), se)

        check(relu_mean(mu[0], var[0]), p[:, 0])
        check(relu_square(mu[1], var[1]), p[:, 1] ** 2)
        check(relu_cross_z(mu[0], mu[1], var[1], c), z[:, 0] * p[:, 1])
        check(relu_cross_exact(mu[0], mu[1], var[0], var[1], c), p[:, 0] * p[:, 1])


def test_authors_cross_moment_is_exact_without_correlation_and_biased_with_it(x64):
    # the documented bias: μ = 0, unit variances, ρ = 0.9
    assert float(relu_cross_authors(0.0, 0.0, 1.0, 1.0, 0.9)) == pytest.approx(0.238, abs=5e-4)
    assert float(relu_cross_exact(0.0, 0.0, 1.0, 1.0, 0.9)) == pytest.approx(0.455, abs=5e-4)
    for mu_k, mu_l, v_k, v_l in [(0.3, -1.0, 0.5, 2.0), (-0.2, 0.4, 1.0, 0.3)]:
        independent = float(relu_mean(mu_k, v_k) * relu_mean(mu_l, v_l))
        assert float(relu_cross_authors(mu_k, mu_l, v_k, v_l, 0.0)) == pytest.approx(
            independent, rel=1e-12)
        assert float(relu_cross_exact(mu_k, mu_l, v_k, v_l, 0.0)) == pytest.approx(
            independent, rel=1e-9)


@given(st.floats(-3, 3), st.floats(-3, 3), st.floats(-0.999, 0.999))
def test_bivariate_normal_cdf_against_scipy(x64, a, b, rho):
    ref = multivariate_normal([0, 0], [[1, rho], [rho, 1]]).cdf([a, b])
    assert float(bivariate_normal_cdf(a, b, rho)) == pytest.approx(ref, abs=1e-7)


# ---------------------------------------------------------------- M-step


def _expected_log_joint(m, mom, x, s, lam, tau, reg):
    """E_q[log p(X, Z | θ)] + log prior, from the per-step moments (not the M-step's sums)."""
    T, M = mom.z.shape
    W = m.W * (1 - jnp.eye(M))
    cs = s @ m.C.T
    c1 = m.mu0 + cs[0]
    first = jnp.trace(mom.zz[0]) - 2 * mom.z[0] @ c1 + c1 @ c1
    b = m.h + cs[1:]
    now = jnp.einsum("tii->t", mom.zz[1:])
    cross = (jnp.einsum("i,tii->t", m.A, mom.z_zprev) + jnp.einsum("ij,tij->t", W, mom.z_phiprev)
             + jnp.einsum("ti,ti->t", b, mom.z[1:]))
    pred = (jnp.einsum("i,tii->t", m.A**2, mom.zz[:-1])
            + 2 * jnp.einsum("i,ij,tji->t", m.A, W, mom.phiz[:-1])
            + jnp.einsum("ij,ik,tjk->t", W, W, mom.phiphi[:-1])
            + 2 * jnp.einsum("ti,ti->t", b, m.A * mom.z[:-1] + mom.phi[:-1] @ W.T)
            + jnp.sum(b * b, 1))
    latent = first + jnp.sum(now - 2 * cross + pred)
    obs = jnp.sum((jnp.sum(x**2, 0) - 2 * jnp.sum(x * (mom.phi @ m.B.T), 0)
                   + jnp.einsum("nm,tmk,nk->n", m.B, mom.phiphi, m.B)) / m.Gamma)
    return -0.5 * (latent / m.sigma + obs + T * M * jnp.log(m.sigma)
                   + T * jnp.sum(jnp.log(m.Gamma))) + penalty(m, reg, lam, tau)


@pytest.mark.parametrize("cross", ["authors", "exact"])
@pytest.mark.parametrize("learn_C", [False, True])
def test_m_step_is_the_numerical_maximiser_of_the_expected_log_joint_plus_ridge(
    x64, cross, learn_C
):
    key = jax.random.PRNGKey(5)
    m, x, s = _model(key, M=4, N=3, K=1, T=40, sigma=0.1)
    reg = regularised_units(4)
    post = posterior(m, x, jax.random.normal(key, (40, 4)), s, key=key)
    mom = moments(post, cross=cross)
    stats = sufficient_statistics(mom, x, s)
    lam, tau = 7.0, 3.0
    new = m_step(m, stats, regularised=reg, lam=lam, tau=tau, learn_C=learn_C)
    M, N, K = 4, 3, 1
    off = np.where(1 - np.eye(M))

    def unpack(p):
        p = jnp.asarray(p)
        A, p = p[:M], p[M:]
        W = jnp.zeros((M, M)).at[off].set(p[: M * (M - 1)])
        p = p[M * (M - 1):]
        h, mu0, p = p[:M], p[M:2 * M], p[2 * M:]
        B, p = p[: N * M].reshape(N, M), p[N * M:]
        G, p = jnp.exp(p[:N]), p[N:]
        C = p.reshape(M, K) if learn_C else m.C
        return PLRNNStateSpace(A, W, h, C, mu0, B, G, m.sigma)

    def negq(p):
        return -_expected_log_joint(unpack(p), mom, x, s, lam, tau, reg)

    size = M + M * (M - 1) + 2 * M + N * M + N + (M * K if learn_C else 0)
    value_and_grad = jax.jit(jax.value_and_grad(negq))

    def fg(p):
        v, g = value_and_grad(jnp.asarray(p))
        return float(v), np.asarray(g)

    res = scipy.optimize.minimize(fg, np.zeros(size), jac=True, method="L-BFGS-B",
                                  options={"maxiter": 20000, "ftol": 1e-15, "gtol": 1e-10})
    best = unpack(res.x)
    for name in ("A", "W", "h", "mu0", "B", "Gamma") + (("C",) if learn_C else ()):
        np.testing.assert_allclose(getattr(new, name), getattr(best, name), atol=2e-4,
                                   err_msg=name)
    assert fg(res.x)[0] >= float(-_expected_log_joint(new, mom, x, s, lam, tau, reg)) - 1e-8


def test_infinite_penalty_makes_the_regularised_units_line_attractors(x64):
    key = jax.random.PRNGKey(2)
    m, x, s = _model(key, M=4, N=3, K=1, T=40, sigma=0.1)  # the M-step test's sizes
    reg = regularised_units(4)
    assert reg.tolist() == [True, True, False, False]  # ⌈M/2⌉ units
    assert regularised_units(5).tolist() == [True, True, True, False, False]
    post = posterior(m, x, jax.random.normal(key, (40, 4)), s, key=key)
    stats = sufficient_statistics(moments(post), x, s)
    new = m_step(m, stats, regularised=reg, lam=1e14, tau=1e14)
    np.testing.assert_allclose(new.A[:2], 1.0, atol=1e-8)
    np.testing.assert_allclose(new.W[:2], 0.0, atol=1e-8)
    np.testing.assert_allclose(new.h[:2], 0.0, atol=1e-8)
    assert np.all(np.abs(np.asarray(new.W[2:])[~np.eye(4, dtype=bool)[2:]]) > 1e-6)


# ---------------------------------------------------------------- the annealed fit


def _fit_small(data, M, settings, taus, seed=0):
    keys = jax.random.split(jax.random.PRNGKey(seed), len(data))
    return fit_em(jnp.asarray(data), M, tau=jnp.asarray(taus), keys=keys, settings=settings)


def test_each_stage_returns_its_highest_likelihood_iterate(x64):
    key = jax.random.PRNGKey(4)
    m, x, _ = _model(key, M=3, N=2, K=0, T=60, sigma=0.05)
    data, _ = m.free_run(60, key=key)
    fit = _fit_small(jnp.stack([data, data]), 3,
                     EMSettings(sigmas=(1.0, 1.0, 0.1), max_iterations=6), [0.0, 100.0])
    ll = np.asarray(fit.ll)
    best = np.asarray(fit.best_ll)
    np.testing.assert_allclose(best, np.nanmax(ll, axis=-1), rtol=1e-13)
    its = np.asarray(fit.iterations)
    assert np.all(its >= 2) and np.all(its <= 6)
    assert np.all(np.isnan(ll[np.arange(6)[None, None, :] >= its[:, :, None]]))
    # the returned final model reproduces the monitored ℓ at the returned mode
    one = jax.tree_util.tree_map(lambda a: a[1], fit.model)
    reg = regularised_units(3)
    ell = one.log_joint(fit.mean[1], data) + penalty(one, reg, 100.0, 100.0)
    assert float(ell) == pytest.approx(float(best[1, -1]), rel=1e-10)


def test_a_stage_started_at_a_consistent_mode_stays_there(x64):
    """``z_start`` (``stage_start="previous"``) is where the first E-step starts: from a
    consistent mode one solve confirms it (no violation, the same mode), where a random
    start with one solve leaves sign violations."""
    for seed in range(20):  # the first model whose E-step finds a consistent mode
        key = jax.random.PRNGKey(seed)
        m, _, _ = _model(key, M=4, N=2, K=0, T=30, sigma=0.1)
        x, _ = m.free_run(30, key=jax.random.fold_in(key, 8))
        post = posterior(m, x, jnp.zeros((30, 4)), None, key=key, max_passes=10_000)
        if int(post.violations) == 0:
            break
    assert int(post.violations) == 0
    one = EMSettings(max_passes=1, max_iterations=1)
    kw = dict(regularised=regularised_units(4), lam=0.0, tau=0.0, learn_B=True,
              linear=False, settings=one)
    warm = run_stage(m, x, None, key, z_start=post.mean, **kw)
    cold = run_stage(m, x, None, key, **kw)
    assert int(warm.violations[0]) == 0 and int(warm.passes[0]) == 1
    np.testing.assert_allclose(warm.mean, post.mean, rtol=1e-12, atol=1e-12)
    assert int(cold.violations[0]) > 0
    with pytest.raises((ValueError, TypeError), match="stage_start"):  # the type hook first
        EMSettings(stage_start="sideways")  # pyright: ignore[reportArgumentType]


def test_em_recovers_a_known_plrnn(x64):
    """Data from a 2-unit PLRNN with a stable focus (x = B z + η, small noise). With B
    given (it pins the latent coordinates: with B free, EM from a random start crawls
    along the ridge of equivalent coordinates, ℓ still rising after 200 iterations), EM
    from the authors' random initialisation returns A, W and h, the fixed point and its
    Jacobian's eigenvalues, and the free run's resting point."""
    A = jnp.array([0.6, 0.7])
    W = jnp.array([[0.0, -0.5], [0.45, 0.0]])
    h = jnp.array([0.3, -0.2])
    B = jnp.array([[1.0, 0.3], [-0.2, 0.8]])
    truth = PLRNNStateSpace(A, W, h, jnp.zeros((2, 0)), jnp.array([2.0, -2.0]), B,
                            jnp.array([1e-3, 1e-3]), jnp.asarray(0.05), "identity")
    data, _ = truth.free_run(3000, key=jax.random.PRNGKey(0))

    def fixed_point(m):
        M = m.latent_size
        for d in np.ndindex(*(2,) * M):
            D = np.diag(d).astype(float)
            J = np.diag(np.asarray(m.A)) + np.asarray(m.W) * (1 - np.eye(M)) @ D
            z = np.linalg.solve(np.eye(M) - J, np.asarray(m.h))
            if np.all((z > 0) == np.asarray(d, bool)):
                return np.asarray(m.B) @ z, np.sort_complex(np.linalg.eigvals(J))
        raise AssertionError("no fixed point")

    settings = EMSettings(observation="identity", sigmas=(0.05, 0.05), max_iterations=30,
                          tol=1e-8, freeze_B_from=1)
    start = eqx.tree_at(lambda m: m.B, authors_init(jax.random.PRNGKey(1), 2, data,
                                                     settings=settings), B)
    fit = fit_em(data[None], 2, keys=jax.random.split(jax.random.PRNGKey(2), 1),
                 settings=settings, init=jax.tree_util.tree_map(lambda a: a[None], start))
    model = jax.tree_util.tree_map(lambda a: a[0], fit.model)
    np.testing.assert_allclose(model.A, A, atol=0.03)
    np.testing.assert_allclose(model.W, W, atol=0.03)
    np.testing.assert_allclose(model.h, h, atol=0.03)
    (x_fit, eig_fit), (x_true, eig_true) = fixed_point(model), fixed_point(truth)
    np.testing.assert_allclose(x_fit, x_true, atol=0.02)
    np.testing.assert_allclose(eig_fit, eig_true, atol=0.03)
    free, _ = model.free_run(3000)
    np.testing.assert_allclose(free[-1], x_true, atol=0.02)


def test_fit_em_refuses_bad_input(x64):
    data = jnp.zeros((1, 10, 2))
    keys = jax.random.split(jax.random.PRNGKey(0), 1)
    with pytest.raises(ValueError, match="latent_size"):
        fit_em(data, 0, keys=keys)
    with pytest.raises(ValueError, match="tau"):
        fit_em(data, 2, tau=-1.0, keys=keys)
    with pytest.raises(ValueError, match="infinite"):
        fit_em(data.at[0, 3, 1].set(jnp.inf), 2, keys=keys)
    with pytest.raises(ValueError, match="sigmas"):
        EMSettings(sigmas=(1.0, 0.0))


def test_an_em_model_is_a_jaxrnn_plrnn_for_the_analysis_tools(x64):
    """to_plrnn: the same noise-free trajectory through jaxrnn.simulate, the same
    observations, and a fixed point of the map that `cycles` finds is one of the model."""
    import jaxrnn
    from jaxrnn.analysis import cycles

    key = jax.random.PRNGKey(8)
    m, x, s = _model(key, M=3, K=1, T=30, sigma=0.2)
    plrnn = m.to_plrnn(n_regularised=2)
    assert plrnn.n_regularised == 2
    x_free, z_free = m.free_run(30, s)
    traj = jaxrnn.simulate(plrnn, m.mu0 + m.C @ s[0], inputs=s[1:])
    np.testing.assert_allclose(traj.ys, z_free, atol=1e-12)
    np.testing.assert_allclose(jax.vmap(plrnn.observe)(z_free), x_free, atol=1e-12)
    np.testing.assert_allclose(jnp.exp(plrnn.observation.log_noise_var), m.Gamma, rtol=1e-12)
    auto = PLRNNStateSpace(m.A, m.W, m.h, jnp.zeros((3, 0)), m.mu0, m.B, m.Gamma, m.sigma)
    for z in np.asarray(cycles(auto.to_plrnn(), 1).points).reshape(-1, 3):
        np.testing.assert_allclose(auto.drift(jnp.asarray(z)) + auto.h, z, atol=1e-9)

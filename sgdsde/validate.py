"""``sgdsde validate``: published results reproduced by the library, one row each.

Every row is a small function ``row(level) -> Check`` that runs the library's public
functions on a problem with a known answer (a paper's equation or a section of docs/theory.md) and
returns what was expected, what was measured, its standard error and the tolerance, with the
rule the tolerance was derived from.  Two levels:

* ``"quick"`` — small samples, run inside the test suite (about a minute of CPU in all);
  tolerances are the same multiples of the (larger) standard errors;
* ``"full"`` — sizes at which every statistical row resolves its quantity to a few per cent
  or better (a few minutes on 2 cores).

Tolerances are never tuned: a statistical row allows 5 standard errors (SE stated per row);
a deterministic row allows the stated accuracy of its numerical method; where a known
deterministic bias separates the measured quantity from the asymptotic one (finite step,
finite η), the bias is computed exactly and added, and the row says so.

Seeds are fixed, so a run is reproducible to rounding.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import numpy as np

__all__ = ["Check", "ROWS", "LEVELS", "run_validation", "format_table", "format_markdown"]

LEVELS = ("quick", "full")
N_SE = 5.0  # statistical tolerance, in standard errors


@dataclass(frozen=True)
class Check:
    """One validated quantity.

    Attributes
    ----------
    name : str
        Short identifier of the row (also the key in :data:`ROWS`).
    quantity : str
        What is compared, in words.
    source : str
        Paper and equation, or the docs/theory.md section the expected value comes from.
    expected, measured : float
        The oracle and the library's value.
    stderr : float
        Standard error of ``measured`` (0 for a deterministic computation).
    tolerance : float
        Allowed ``|measured − expected|`` (two-sided), or the margin by which ``measured``
        must exceed ``expected`` (``sense="above"``).
    rule : str
        How the tolerance was derived.
    sense : {"two-sided", "above"}
    seconds : float
        Wall time of the row.
    """

    name: str
    quantity: str
    source: str
    expected: float
    measured: float
    stderr: float
    tolerance: float
    rule: str
    sense: str = "two-sided"
    seconds: float = field(default=0.0, compare=False)

    @property
    def deviation(self) -> float:
        """``measured − expected``."""
        return self.measured - self.expected

    @property
    def passed(self) -> bool:
        """Whether the measurement is within (or, for ``"above"``, beyond) the tolerance."""
        if not (math.isfinite(self.measured) and math.isfinite(self.tolerance)):
            return False
        if self.sense == "above":
            return self.deviation > self.tolerance
        return abs(self.deviation) <= self.tolerance


def _level(level: str) -> bool:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    return level == "full"


def _slope_and_se(x, y, se_y) -> tuple[float, float]:
    """Weighted least-squares slope of y on x, and its standard error from the se of each y."""
    w = 1.0 / np.asarray(se_y) ** 2
    x, y = np.asarray(x), np.asarray(y)
    xm = np.sum(w * x) / np.sum(w)
    sxx = np.sum(w * (x - xm) ** 2)
    slope = np.sum(w * (x - xm) * y) / sxx
    return float(slope), float(1.0 / math.sqrt(sxx))


# ---------------------------------------------------------------- SGD ↔ SDE (docs/theory.md §2)
_LTE_HESSIAN = np.array([[1.5, 0.5], [0.5, 1.5]])  # eigenvalues 1 and 2
_LTE_X0 = np.array([3.0, -1.0])


def _weak_order(order: int, level: str) -> Check:
    """Log-log slope of the weak error |E f(x_k) − E f(X_{kη})| at kη = 1, SGD simulated."""
    from .sgd.exact import GaussianQuadraticModel

    full = _level(level)
    model = GaussianQuadraticModel(_LTE_HESSIAN)
    # The control-variate estimator has sd ≈ 1.5η while the weak error is ≈ 0.65η (order 1)
    # or ≈ 1.6η² (order 2): order 2 needs M ~ 10⁶ for a few per cent at η = 0.01.
    if order == 1:
        etas = np.array([0.04, 0.02, 0.01, 0.005] if full else [0.04, 0.02, 0.01])
        m = 200_000 if full else 20_000
    else:
        etas = np.array([0.04, 0.02, 0.01])
        m = 2_000_000 if full else 200_000
    errors, ses = [], []
    for i, eta in enumerate(etas):
        k = round(1.0 / eta)
        x = model.run_sgd(np.tile(_LTE_X0, (m, 1)), eta, k, seed=10 + i, record_every=k).final
        # Zero-mean control variate m_kᵀH(x_k − m_k), m_k = (I − ηH)^k x₀: the estimator keeps
        # only the quadratic part of the noise (examples/li_tai_e_weak_order.py).
        mean_path = np.linalg.matrix_power(np.eye(2) - eta * _LTE_HESSIAN, k) @ _LTE_X0
        h = _LTE_HESSIAN
        est = 0.5 * np.einsum("mi,ij,mj->m", x, h, x) - (x - mean_path) @ (h @ mean_path)
        errors.append(abs(est.mean() - model.expected_loss_sme(_LTE_X0, eta, 1.0, order)))
        ses.append(est.std(ddof=1) / math.sqrt(m))
    errors, ses = np.array(errors), np.array(ses)
    # se of ln|err| is se/|err| (delta method)
    slope, se = _slope_and_se(np.log(etas), np.log(errors), ses / errors)
    exact_err = [abs(model.expected_loss_sgd(_LTE_X0, e, round(1 / e))
                     - model.expected_loss_sme(_LTE_X0, e, 1.0, order)) for e in etas]
    bias = abs(np.polyfit(np.log(etas), np.log(exact_err), 1)[0] - order)
    eq = "4.5" if order == 1 else "4.4"
    return Check(f"weak_order_{order}", f"weak-order slope, order-{order} SME vs SGD (model 5.1)",
                 f"Li, Tai & E, JMLR 2019, eq. {eq}, model 5.1; docs/theory.md §2", float(order), slope, se,
                 N_SE * se + bias,
                 f"{N_SE:g} SE (SE of the fit from control-variate SEs, M = {m}) + finite-η curvature "
                 f"of the exact-formula slope ({bias:.2g})")


def weak_order_1(level: str) -> Check:
    return _weak_order(1, level)


def weak_order_2(level: str) -> Check:
    return _weak_order(2, level)


def _stationary_trace(x: np.ndarray, center) -> tuple[float, float]:
    sq = np.sum((x - center) ** 2, axis=1)
    return float(sq.mean()), float(sq.std(ddof=1) / math.sqrt(sq.size))


def lyapunov_covariance_row(level: str) -> Check:
    """Stationary Tr Σ of the order-1 SME (model 5.1) against the Lyapunov equation.

    Leimkuhler–Matthews samples this OU process's stationary law exactly at any step (its
    drift and noise matrices commute, so each eigenmode is the harmonic case of docs/theory.md §3).
    """
    from .integrators import LeimkuhlerMatthews
    from .save import SaveAt
    from .sgd.exact import GaussianQuadraticModel, lyapunov_covariance
    from .simulate import simulate

    full = _level(level)
    m, eta, dt = (200_000 if full else 20_000), 0.2, 0.05
    model = GaussianQuadraticModel(_LTE_HESSIAN)
    # t = 12: 24 e-folds of the slowest covariance mode (rate 2λ_min = 2)
    traj = simulate(model.sme(eta), LeimkuhlerMatthews(), np.zeros((m, 2)), dt=dt, t1=12.0, seed=31,
                    progress=False, save=SaveAt(every=10**6, start=False))
    measured, se = _stationary_trace(traj.final, 0.0)
    expected = float(np.trace(lyapunov_covariance(_LTE_HESSIAN, _LTE_HESSIAN @ _LTE_HESSIAN, eta)))
    return Check("lyapunov_covariance", f"Tr Σ of the order-1 SME, η = {eta}",
                 "Mandt, Hoffman & Blei, JMLR 2017, eq. 13; docs/theory.md §2",
                 expected, measured, se, N_SE * se,
                 f"{N_SE:g} SE, SE = sd(|x|²)/sqrt(M), M = {m}")


def additive_sgd_covariance_row(level: str) -> Check:
    """Stationary Tr Σ of SGD on model 5.1 (additive noise) against AΣ + ΣA − ηAΣA = ηC."""
    from .sgd.exact import GaussianQuadraticModel, additive_sgd_covariance, lyapunov_covariance

    full = _level(level)
    m, eta = (400_000 if full else 40_000), 0.4
    model = GaussianQuadraticModel(_LTE_HESSIAN)
    n_steps = 60  # (1 − ηλ_min)^{2k} = 0.6^120 ≈ 1e-27: the start is forgotten
    x = model.run_sgd(np.zeros((m, 2)), eta, n_steps, seed=32, record_every=n_steps).final
    measured, se = _stationary_trace(x, 0.0)
    c = _LTE_HESSIAN @ _LTE_HESSIAN
    expected = float(np.trace(additive_sgd_covariance(_LTE_HESSIAN, c, eta)))
    lyap = float(np.trace(lyapunov_covariance(_LTE_HESSIAN, c, eta)))
    return Check("sgd_covariance_additive", f"Tr Σ of SGD on model 5.1, η = {eta} (Lyapunov: {lyap:.4g})",
                 "exact discrete SGD, docs/theory.md §2", expected, measured, se, N_SE * se,
                 f"{N_SE:g} SE, SE = sd(|x|²)/sqrt(M), M = {m}")


def _regression(n_examples: int, dim: int):
    from .landscapes.networks import LinearRegression
    from .sgd.data import teacher_student

    data = teacher_student(n_examples, dim, label_noise=0.5, seed=1)
    return LinearRegression(data.inputs, data.targets)


def least_squares_covariance_row(level: str) -> Check:
    """Stationary Tr Σ of minibatch SGD on least squares (multiplicative noise) vs its exact formula."""
    from .sgd.exact import sgd_stationary_covariance
    from .sgd.minibatch import run_sgd

    full = _level(level)
    m, eta, batch = (20_000 if full else 2_000), 0.2, 4
    loss = _regression(40, 3)
    star = loss.minimizer()
    lam_min = float(np.linalg.eigvalsh(loss.hessian(star[None])[0]).min())
    n_steps = math.ceil(30 / (eta * lam_min))  # 30 e-folds of the slowest mean mode
    x = run_sgd(loss, np.tile(star, (m, 1)), lr=eta, batch_size=batch, n_steps=n_steps, seed=33,
                record_every=n_steps).final
    measured, se = _stationary_trace(x, star)
    expected = float(np.trace(sgd_stationary_covariance(loss, eta, batch)))
    return Check("sgd_covariance_least_squares",
                 f"Tr Σ of minibatch SGD on least squares, η = {eta}, B = {batch}",
                 "exact discrete SGD with multiplicative noise (sgd.exact); docs/theory.md §2",
                 expected, measured,
                 se, N_SE * se, f"{N_SE:g} SE, SE = sd(|δ|²)/sqrt(M), M = {m}")


def _multiplicative_sgd_loss(level, name, sigma, relative, seed, noise, factor) -> Check:
    """E f(x_k) of SGD on the multiplicative model (Monte Carlo over M runs) vs its exact formula."""
    from .sgd.exact import MultiplicativeQuadraticModel

    m, eta, k = (400_000 if _level(level) else 40_000), 0.2, 10
    model = MultiplicativeQuadraticModel(_LTE_HESSIAN, noise_scale=sigma, relative=relative)
    loss = model.run_sgd(np.tile(_LTE_X0, (m, 1)), eta, k, seed=seed, record_every=k).observables["loss"][-1]
    measured, se = float(loss.mean()), float(loss.std(ddof=1) / math.sqrt(m))
    expected = float(model.expected_loss_sgd(_LTE_X0, eta, k))
    return Check(name, f"E f(x_k) of SGD, {noise} σ = {sigma:g}, η = {eta}, k = {k}",
                 f"exact per-step factor {factor} of E (qᵀx)² (sgd.exact); docs/theory.md §2",
                 expected, measured, se, N_SE * se, f"{N_SE:g} SE, SE = sd(f)/sqrt(M), M = {m}")


def multiplicative_sgd_loss_row(level: str) -> Check:
    """E f(x_k) of SGD with relative curvature noise λ_i(1 + σγ_i), σ = 0.5."""
    return _multiplicative_sgd_loss(level, "sgd_multiplicative_loss", 0.5, True, 34,
                                    "multiplicative noise", "(1 − ηλ)² + σ²η²λ²")


def absolute_multiplicative_sgd_loss_row(level: str) -> Check:
    """E f(x_k) of SGD with absolute curvature noise λ_i + σγ_i, σ = 1.

    The form in which a public reproduction writes Li–Tai–E's second test model
    (docs/theory.md §2, provenance).
    """
    return _multiplicative_sgd_loss(level, "sgd_multiplicative_absolute_loss", 1.0, False, 35,
                                    "absolute curvature noise", "(1 − ηλ)² + η²σ²")


def implicit_regularisation_row(level: str) -> Check:
    """SGD on under-determined least squares from 0 ends at the minimum-norm solution X⁺y."""
    from .generalisation.implicit_regularisation import interpolant_distance
    from .landscapes.networks import LinearRegression
    from .random import STREAM_USER, normals
    from .sgd.minibatch import run_sgd

    full = _level(level)
    n, d, m = 20, 50, (16 if full else 4)
    x = normals(50, np.arange(n), 0, d, STREAM_USER + 21)
    y = normals(51, np.arange(n), 0, 1, STREAM_USER + 21)[:, 0]
    loss = LinearRegression(x, y)
    n_steps = 500  # stopped before convergence, so that the gradient bound is what is tested
    final = run_sgd(loss, np.zeros((m, d)), lr=0.02, batch_size=2, n_steps=n_steps, seed=52,
                    record_every=n_steps).final
    check = interpolant_distance(loss, final, np.zeros(d))
    worst = int(np.argmax(check.distance - check.bound))
    tolerance = float(check.bound[worst] + 1e-10 * (1 + check.scale[worst]))
    return Check("implicit_regularisation",
                 f"|θ − X⁺y| after SGD from 0 on least squares, n = {n} < d = {d} (worst of {m} runs)",
                 "Zhang et al., ICLR 2017 (arXiv:1611.03530), section 5; docs/theory.md §2", 0.0,
                 float(check.distance[worst]), 0.0, tolerance,
                 f"n|∇f|/s_min² = {check.bound[worst]:.2g} from the final gradient norm (θ − θ₀ stays in "
                 f"row(X): null-space drift {check.null_space_drift.max():.1g}) + 1e-10 rounding")


def sgd_current_row(level: str) -> Check:
    """Antisymmetric lag-one covariance (probability current) of stationary SGD on least squares."""
    from .generalisation.nonequilibrium import lag_asymmetry
    from .sgd.exact import sgd_stationary_covariance
    from .sgd.minibatch import run_sgd

    full = _level(level)
    m, n_records, burn, eta, batch = (128 if full else 32), (4000 if full else 1500), 200, 0.2, 4
    loss = _regression(40, 3)
    star = loss.minimizer()
    # exact: C(1) = E[δ_{k+1} δ_kᵀ] = (I − ηA) S, with S the exact stationary covariance
    s = sgd_stationary_covariance(loss, eta, batch)
    a = loss.inputs.T @ loss.inputs / loss.n_examples
    c1 = (np.eye(3) - eta * a) @ s
    exact = 0.5 * (c1 - c1.T) / np.sqrt(np.outer(np.diag(s), np.diag(s)))
    i, j = np.unravel_index(np.argmax(np.abs(np.triu(exact, 1))), exact.shape)
    traj = run_sgd(loss, np.tile(star, (m, 1)), lr=eta, batch_size=batch, n_steps=n_records + burn, seed=35,
                   record_every=1, observables={"delta": lambda theta: theta - star})
    res = lag_asymmetry(traj.observables["delta"][burn + 1:], lag=1)
    se = float(res.stderr[i, j])
    bias = 2.0 / n_records
    return Check("sgd_current_least_squares",
                 f"antisymmetric lag-1 covariance of SGD on least squares, entry ({i + 1},{j + 1}), "
                 f"η = {eta}, B = {batch}",
                 "exact C(1) = (I − ηA)S with S from sgd.exact; Chaudhari & Soatto, ICLR 2018; "
                 "docs/theory.md §2",
                 float(exact[i, j]), float(res.antisymmetric[i, j]), se, N_SE * se + bias,
                 f"{N_SE:g} SE (sd over M = {m} runs of {n_records} steps / sqrt(M)) + 2/T = {bias:.2g} for "
                 "centring each run on its own mean")


_BATCHES = (1, 2, 4)


@functools.lru_cache(maxsize=2)
def _eta_over_b_ensembles(level: str) -> dict:
    """Stationary SGD clouds on least squares (d = 3) at three η/B, one e-fold apart, each at
    B = 1, 2, 4: their Gaussian entropies and those of the exact discrete covariances."""
    from .measure.entropy import gaussian_entropy
    from .random import STREAM_USER, normals
    from .sgd.exact import lyapunov_covariance, sgd_stationary_covariance
    from .sgd.minibatch import run_sgd
    from .sgd.noise import gradient_covariance

    full = _level(level)
    m, relax = (4000, 8.0) if full else (600, 6.0)
    dim = 3
    loss = _regression(60, dim)
    star = loss.minimizer()
    hess = loss.hessian(star[None])[0]
    per_example = gradient_covariance(loss, star[None], 1)[0]
    lam_min = float(np.linalg.eigvalsh(hess).min())
    ratios = 0.004 * np.exp(np.arange(3))
    entropy, exact = np.empty((3, len(_BATCHES))), np.empty((3, len(_BATCHES)))
    for i, ratio in enumerate(ratios):
        for j, batch in enumerate(_BATCHES):
            lr = float(ratio * batch)
            # start from the Lyapunov Gaussian, then relax `relax` e-folds of the slowest Σ mode
            z = normals(40 + 10 * i + j, np.arange(m), 0, dim, STREAM_USER + 20)
            theta0 = star + z @ np.linalg.cholesky(lyapunov_covariance(hess, per_example / batch, lr)).T
            n_steps = math.ceil(relax / (2 * lr * lam_min))
            cloud = run_sgd(loss, theta0, lr=lr, batch_size=batch, n_steps=n_steps, seed=50 + 10 * i + j,
                            record_every=n_steps).final
            entropy[i, j] = gaussian_entropy(cloud)
            exact_cov = sgd_stationary_covariance(loss, lr, batch)
            exact[i, j] = 0.5 * np.linalg.slogdet(2 * np.pi * np.e * exact_cov)[1]
    # SE of the Wishart-corrected Gaussian entropy: sqrt(d/2M)
    return {"ratios": ratios, "entropy": entropy, "exact": exact, "dim": dim, "m": m,
            "se": math.sqrt(dim / (2 * m))}


def eta_over_b_entropy_slope(level: str) -> Check:
    """Entropy of SGD's stationary cloud vs ln(η/B), all batch sizes on one fit: slope d/2."""
    r = _eta_over_b_ensembles(level)
    x = np.repeat(np.log(r["ratios"]), len(_BATCHES))
    slope, se = _slope_and_se(x, r["entropy"].ravel(), np.full(x.size, r["se"]))
    bias = abs(np.polyfit(x, r["exact"].ravel(), 1)[0] - r["dim"] / 2)
    return Check("eta_over_b_entropy_slope", f"entropy per e-fold of η/B, d = {r['dim']} (B = 1, 2, 4)",
                 "Chaudhari & Soatto, ICLR 2018; docs/theory.md §2 (½ ln det 2πeΣ = (d/2) ln(η/B) + c)",
                 r["dim"] / 2, slope, se, N_SE * se + bias,
                 f"{N_SE:g} SE (entropy SE sqrt(d/2M), M = {r['m']}; SE of the fit) + O(η) departure of "
                 f"the exact SGD covariance's slope ({bias:.2g})")


def eta_over_b_collapse(level: str) -> Check:
    """At equal η/B, the stationary entropy does not depend on B: S(B = 4) − S(B = 1) → 0."""
    r = _eta_over_b_ensembles(level)
    diff = r["entropy"][:, -1] - r["entropy"][:, 0]
    se = r["se"] * math.sqrt(2 / diff.size)  # mean over the ratios of differences of two entropies
    bias = abs(float(np.mean(r["exact"][:, -1] - r["exact"][:, 0])))
    return Check("eta_over_b_collapse", "entropy at B = 4 minus B = 1, equal η/B (mean over 3 ratios)",
                 "Lyapunov equation AΣ + ΣA = (η/B) D depends on η/B only; docs/theory.md §2",
                 0.0, float(diff.mean()), se, N_SE * se + bias,
                 f"{N_SE:g} SE (SE = sqrt(2/3) · sqrt(d/2M), M = {r['m']}) + O(η) difference of the exact "
                 f"SGD covariances ({bias:.2g})")


# ---------------------------------------------------------------- Fokker–Planck (docs/theory.md §5)
def fokker_planck_ou_transient(level: str) -> Check:
    """Variance of the Fokker–Planck density of an OU process at t = 0.5 vs the exact Gaussian."""
    import sgdsde as sd

    from .fokker_planck import FokkerPlanck, Grid, evolve
    from .theory.ornstein_uhlenbeck import ou_moments

    full = _level(level)
    k, temperature, m0, v0, t = 2.0, 0.5, 1.0, 0.09, 0.5
    n = 800 if full else 200
    grid = Grid((-4.0, 4.0), n)
    fp = FokkerPlanck(sd.LangevinSDE(sd.landscapes.Quadratic([[k]]), temperature), grid)
    p = evolve(fp, lambda x: np.exp(-((x[:, 0] - m0) ** 2) / (2 * v0)), [t], method="expm").densities[0]
    x = grid.axes[0]
    w = p * grid.cell_volume
    mean = float(x @ w)
    measured = float(((x - mean) ** 2) @ w)
    expected = float(ou_moments(m0, k, temperature, t)[1] + v0 * math.exp(-2 * k * t))
    h = 8.0 / n
    return Check("fp_ou_transient", f"variance of p(x, t = {t}), OU k = {k}, T = {temperature}",
                 "OU exact transition, docs/theory.md §5", expected, measured, 0.0, h * h,
                 f"h² = {h * h:.2g}: second-order Scharfetter–Gummel scheme with midpoint moments "
                 "(observed order 2 in tests/test_fokker_planck.py)")


def fokker_planck_boltzmann(level: str) -> Check:
    """L1 distance between the Fokker–Planck stationary state and the Boltzmann density."""
    import sgdsde as sd

    from .fokker_planck import FokkerPlanck, Grid
    from .theory.boltzmann import boltzmann_density_1d

    full = _level(level)
    temperature = 0.25
    grid = Grid((-2.5, 2.5), 1600 if full else 400)
    fp = FokkerPlanck(sd.LangevinSDE(sd.landscapes.DoubleWell(), temperature), grid)
    exact = boltzmann_density_1d(lambda y: (y * y - 1) ** 2, temperature, grid.axes[0], bounds=(-2.5, 2.5))
    measured = float(grid.integrate(np.abs(fp.stationary() - exact)))
    return Check("fp_boltzmann", f"∫|p_∞ − e^(−U/T)/Z| dx, double well, T = {temperature}",
                 "Scharfetter–Gummel exact discrete Boltzmann state, docs/theory.md §5",
                 0.0, measured, 0.0, 1e-9,
                 "1e-9: rounding of the sparse LU solve and of the quadrature of Z (the scheme's zero-flux "
                 "state is exactly Boltzmann at the nodes)")


# ---------------------------------------------------------------- integrators (docs/theory.md §3)
def _harmonic_variance(name: str, level: str) -> Check:
    from .integrators import BAOAB, EulerMaruyama, LeimkuhlerMatthews
    from .landscapes.toy import Quadratic
    from .save import SaveAt
    from .sde import LangevinSDE
    from .simulate import simulate
    from .theory.ornstein_uhlenbeck import em_stationary_variance

    full = _level(level)
    k, temperature = 2.0, 0.3
    m = 400_000 if full else 40_000
    integ, h = {"EulerMaruyama": (EulerMaruyama(), 0.25), "LeimkuhlerMatthews": (LeimkuhlerMatthews(), 0.4),
                "BAOAB": (BAOAB(), 0.4)}[name]
    expected = em_stationary_variance(k, temperature, h) if name == "EulerMaruyama" else temperature / k
    sde = LangevinSDE(Quadratic([[k]]), temperature=temperature, friction=2.0 if integ.underdamped else None)
    # 200 steps: at least 40 relaxation times of the slowest mode at these parameters
    x = simulate(sde, integ, np.zeros((m, 1)), dt=h, n_steps=200, seed=34, progress=False,
                 save=SaveAt(every=10**6, start=False)).final[:, 0]
    se = expected * math.sqrt(2 / (m - 1))
    formula = "T/(k(1 − kh/2))" if name == "EulerMaruyama" else "T/k"
    return Check(f"stationary_variance_{name}", f"{name} stationary ⟨x²⟩ = {formula}, kh = {k * h:g}",
                 "docs/theory.md §3; Leimkuhler & Matthews 2013 (arXiv:1203.5428)", float(expected),
                 float(x.var()), se, N_SE * se, f"{N_SE:g} SE, SE = σ² sqrt(2/(M−1)), M = {m}")


def em_variance(level: str) -> Check:
    return _harmonic_variance("EulerMaruyama", level)


def lm_variance(level: str) -> Check:
    return _harmonic_variance("LeimkuhlerMatthews", level)


def baoab_variance(level: str) -> Check:
    return _harmonic_variance("BAOAB", level)


# ---------------------------------------------------------------- p-spin (docs/theory.md §4)
_PSPIN_TABLE = {  # docs/theory.md §4, 7 decimals (ABC normalisation)
    ("threshold", 3): -1.6329932, ("threshold", 4): -1.7320508,
    ("ground_state", 3): -1.6569984, ("ground_state", 4): -1.7940850,
    ("T_d", 3): 0.8660254, ("T_d", 4): 0.7698004,
    ("T_s", 3): 0.8288055, ("T_s", 4): 0.7114051,
}


def _pspin_constant(what: str, p: int) -> Callable[[str], Check]:
    def row(level: str) -> Check:
        from .theory import pspin

        _level(level)
        fn = {"threshold": pspin.threshold_energy, "ground_state": pspin.ground_state_energy,
              "T_d": pspin.dynamical_temperature, "T_s": pspin.static_temperature}[what]
        source = {"threshold": "ABC 2013, Thm 2.5", "ground_state": "ABC 2013, Thm 2.12",
                  "T_d": "Crisanti–Sommers 1992 / CK 1993", "T_s": "Crisanti–Sommers 1992 (1RSB)"}[what]
        label = {"threshold": "threshold energy −E_∞", "ground_state": "ground-state energy −E_0",
                 "T_d": "dynamical temperature T_d", "T_s": "static temperature T_s"}[what]
        return Check(f"pspin_{what}_p{p}", f"p-spin {label}, p = {p} (ABC units)",
                     f"{source}; docs/theory.md §4 table", _PSPIN_TABLE[(what, p)], float(fn(p)), 0.0, 5e-8,
                     "half a unit of the table's 7th decimal")

    row.__name__ = f"pspin_{what}_p{p}"
    return row


def pspin_paramagnetic_energy(level: str) -> Check:
    """Langevin at T = 1.5 T_d from random starts settles at the paramagnetic energy −ξ(1)/T."""
    import sgdsde as sd

    from .landscapes.pspin import SphericalPSpin
    from .theory.pspin import dynamical_temperature, paramagnetic_energy

    full = _level(level)
    n, m, draws, t1 = (64, 64, 24, 10.0) if full else (32, 32, 5, 6.0)
    # Leimkuhler–Matthews: its invariant law is second order in dt (Euler–Maruyama's first-order
    # bias at dt = 0.02 lifts the energy by ≈ 0.02, several SE)
    dt, t_eq = 0.02, 3.0
    temperature = 1.5 * dynamical_temperature(3)
    per_draw = []
    for s in range(draws):
        model = SphericalPSpin(n, 3, seed=s)
        x0 = model.manifold.random(m, n, seed=100 + s)
        save = sd.SaveAt(every=round(0.5 / dt), observables={"e": model.energy_per_spin})
        sde = sd.LangevinSDE(model, temperature=temperature)
        traj = sd.simulate(sde, sd.integrators.LeimkuhlerMatthews(), x0, dt=dt, t1=t1, save=save,
                           seed=200 + s, progress=False)
        per_draw.append(traj.observables["e"][traj.ts >= t_eq].mean())
    per_draw = np.array(per_draw)
    se = float(per_draw.std(ddof=1) / math.sqrt(draws))
    return Check("pspin_paramagnetic_energy", f"energy per spin, Langevin p = 3 at T = 1.5 T_d (N = {n})",
                 "annealed paramagnet −ξ(1)/T, docs/theory.md §4",
                 float(paramagnetic_energy(temperature, p=3)),
                 float(per_draw.mean()), se, N_SE * se,
                 f"{N_SE:g} SE, SE = sd over {draws} coupling draws / sqrt(draws) ({m} particles each, "
                 f"time average over {t_eq:g} ≤ t ≤ {t1:g}, Leimkuhler–Matthews dt = {dt:g})")


def pspin_gradient_descent(level: str) -> Check:
    """Gradient descent (T = 0) from random starts ends above the threshold energy −E_∞."""
    import sgdsde as sd

    from .landscapes.pspin import SphericalPSpin
    from .theory.pspin import threshold_energy

    full = _level(level)
    n, m, draws, t1 = (128, 8, 8, 40.0) if full else (48, 8, 4, 20.0)
    final = []
    for s in range(draws):
        model = SphericalPSpin(n, 3, seed=10 + s)
        x0 = model.manifold.random(m, n, seed=300 + s)
        save = sd.SaveAt(every=10**6, observables={"e": model.energy_per_spin})
        traj = sd.simulate(sd.LangevinSDE(model, temperature=0.0), sd.integrators.EulerMaruyama(), x0,
                           dt=0.05, t1=t1, save=save, seed=0, progress=False)
        final.append(traj.observables["e"][-1].mean())
    final = np.array(final)
    se = float(final.std(ddof=1) / math.sqrt(draws))
    return Check("pspin_gradient_descent", f"GD energy per spin at t = {t1:g}, p = 3 (N = {n}): above −E_∞",
                 "Cugliandolo & Kurchan, PRL 71, 173 (1993); threshold of ABC 2013; docs/theory.md §4",
                 float(threshold_energy(3)), float(final.mean()), se, N_SE * se,
                 f"one-sided: above −E_∞ by more than {N_SE:g} SE (SE = sd over {draws} draws / sqrt(draws))",
                 sense="above")


def critical_point_counts(level: str) -> Check:
    """Mean number of critical points of p = 3, N = 3 spherical p-spin vs ABC's expectation (a GOE
    average, evaluated by Monte Carlo)."""
    from .landscapes.pspin import SphericalPSpin
    from .measure.critical_points import find_critical_points, random_starts
    from .theory.complexity_counts import expected_counts

    full = _level(level)
    n, p = 3, 3
    draws, starts, goe = (400, 120, 400_000) if full else (30, 120, 50_000)
    totals = []
    for draw in range(draws):
        landscape = SphericalPSpin(n, p, seed=draw)
        cp = find_critical_points(landscape, random_starts(landscape, starts, seed=1000 + draw),
                                  parity=(-1) ** p)
        totals.append(cp.n_points)
    totals = np.array(totals, dtype=float)
    exact = expected_counts(n, p, n_samples=goe, seed=7)
    se = float(np.hypot(totals.std(ddof=1) / math.sqrt(draws), exact.total_stderr))
    return Check("critical_point_counts", f"E[number of critical points], p = {p}, N = {n}",
                 "Auffinger, Ben Arous & Černý, CPAM 2013 (GOE formula, Monte Carlo); docs/theory.md §4",
                 float(exact.total), float(totals.mean()), se, N_SE * se,
                 f"{N_SE:g} SE: sd over {draws} coupling draws / sqrt(draws) and the GOE Monte Carlo SE "
                 f"({goe} matrices), in quadrature")


# ---------------------------------------------------------------- escape (docs/theory.md §6)
def _double_well_energy(x):
    return (x * x - 1.0) ** 2


def mfpt_double_well(level: str) -> Check:
    """Simulated escape time −1 → +1 in the double well vs the exact MFPT quadrature."""
    from .integrators import EulerMaruyama
    from .landscapes.toy import DoubleWell
    from .measure.escape import FirstPassageRecorder, mean_first_passage_time
    from .save import SaveAt
    from .sde import LangevinSDE
    from .simulate import simulate
    from .theory.kramers import mean_first_passage_time_1d

    full = _level(level)
    temperature, dt = 0.25, 0.01
    m = 20_000 if full else 2_000
    recorder = FirstPassageRecorder(threshold=1.0)  # the bottom of the other well
    traj = simulate(LangevinSDE(DoubleWell(dim=1, barrier=1.0), temperature=temperature), EulerMaruyama(),
                    -np.ones((m, 1)), dt=dt, t1=100.0, progress=False, seed=11,
                    save=SaveAt(every=10, observables={"escaped": recorder}))
    mean, se = mean_first_passage_time(*recorder.passage_times(traj.ts))
    exact = float(mean_first_passage_time_1d(_double_well_energy, temperature, -1.0, 1.0))
    return Check("mfpt_double_well", f"mean escape time −1 → +1, double well, T/ΔU = {temperature}",
                 "exact 1-D MFPT quadrature, docs/theory.md §6", exact, float(mean), float(se), N_SE * se,
                 f"{N_SE:g} SE (censored exponential MLE, SE = τ̂/sqrt(events), M = {m}); record spacing "
                 "0.1 and the Euler step bias it by < 1 %")


def kramers_limit(level: str) -> Check:
    """k_Kramers · τ_exact → 1 as T → 0 in the double well (ΔU = 1, U''(±1) = 8, U''(0) = −4)."""
    from .theory.kramers import kramers_rate, mean_first_passage_time_1d

    _level(level)
    temperature = 1.0 / 160
    ratio = kramers_rate(8.0, -4.0, 1.0, temperature) * mean_first_passage_time_1d(
        _double_well_energy, temperature, -1.0, 1.0)
    first_order = 3.0 / 8.0 * temperature
    return Check("kramers_limit", f"k_Kramers · τ_exact at T/ΔU = {temperature:g}",
                 "Kramers, Physica 7, 284 (1940); docs/theory.md §6", 1.0, float(ratio), 0.0, 2 * first_order,
                 f"twice the leading Laplace correction (3/8)T/ΔU = {first_order:.2g} "
                 "(kτ = 1 + (3/8)T/ΔU + O(T²))")


# ------------------------------------------------ gradient information (docs/validation.md)
def parity_gradient_variance_row(level: str) -> Check:
    from .landscapes.mlp import MLP
    from .measure.gradient_stats import gradient_variance_bound, target_family_gradient_variance
    from .studies.parity import parity_inputs, parity_targets

    d = 10 if _level(level) else 7
    x, table = parity_inputs(d), parity_targets(d)
    net = MLP(x, table[0], widths=[32], activation="tanh", loss="mse")
    theta = net.init_params(1, seed=0)

    def make(y):
        return MLP(x, y, widths=[32], activation="tanh", loss="mse")

    variance = float(target_family_gradient_variance(make, table, theta)[0])
    bound = float(gradient_variance_bound(net, theta, len(table))[0])
    # the mean over the family of ∇F_S − ∇F_0 is −(1/n) Jᵀ mean_S χ_S; Parseval adds its square
    jac = net.per_example_output_grads(theta)[0]
    shift = jac.T @ table.mean(axis=0) / len(x)
    measured = variance + float(shift @ shift)
    return Check("parity_gradient_variance",
                 f"Var_S ∇F_S + |shift|² at random init, all 2^{d} parities (Var = {variance:.4g} "
                 f"= {variance / bound:.4f} × bound)",
                 "Shalev-Shwartz, Shamir & Shammah, ICML 2017, Thm 1 (G²/|H|; equality for a complete "
                 "family by Parseval)", bound, measured, 0.0, 1e-9 * bound,
                 "1e-9 relative: rounding of 2^d gradients of 2^d examples (deterministic)")


def _tail_index_row(alpha: float) -> Callable[[str], Check]:
    def row(level: str) -> Check:
        from .measure.gradient_stats import symmetric_stable, tail_index

        n = 1_000_000 if _level(level) else 40_000
        t = tail_index(symmetric_stable(alpha, n, seed=7))
        return Check(f"tail_index_alpha_{alpha:g}", f"tail index α̂ of {n} symmetric {alpha:g}-stable draws",
                     "Mohammadi et al., Metrika 2015 (estimator of Şimşekli et al., ICML 2019)", alpha,
                     t.alpha, t.stderr, N_SE * t.stderr,
                     f"{N_SE:g} SE, SE = α̂² sd(Z)/(sqrt(K2) log K1), K1 = K2 = {t.block} (1/α̂ unbiased)")
    row.__name__ = f"tail_index_alpha_{alpha:g}"
    return row


def _fdr_row(momentum: float) -> Callable[[str], Check]:
    def row(level: str) -> Check:
        from .measure.gradient_stats import fluctuation_dissipation_residual
        from .sgd.trace import sgd_trace

        full = _level(level)
        plain = _regression(64, 4)
        loss = type(plain)(plain.inputs, plain.targets, weight_decay=0.1)
        lr = 0.1 if momentum == 0 else 0.05
        m, steps = (256, 4000) if full else (64, 800)
        trace = sgd_trace(loss, np.zeros((m, 4)), lr=lr, batch_size=4, n_steps=steps, burn_in=400,
                          momentum=momentum, seed=5)
        fdr = fluctuation_dissipation_residual(trace.positions, trace.grads, lr, momentum=momentum,
                                               velocities=trace.velocities)
        kind = "plain SGD" if momentum == 0 else f"heavy ball μ = {momentum:g}"
        rhs = "(η/2)⟨|g|²⟩" if momentum == 0 else "[(1+μ)/(2η)]⟨|v|²⟩"
        return Check(f"fdr_{'sgd' if momentum == 0 else 'heavy_ball'}",
                     f"⟨θ·∇f⟩ / {rhs} − 1, {kind}, least squares + weight decay, η = {lr:g}, B = 4",
                     "Yaida, ICLR 2019 (arXiv:1810.00004), first FDR; docs/validation.md",
                     0.0, fdr.relative,
                     fdr.relative_se, N_SE * fdr.relative_se,
                     f"{N_SE:g} SE, SE by batch means: 10 blocks × {m} runs of {steps} steps "
                     "after 400 burn-in")
    row.__name__ = f"fdr_{momentum:g}"
    return row


def smoothed_step_row(level: str) -> Check:
    from .landscapes.toy import Rugged
    from .studies.smoothing import expected_smoothed_step, smoothed_grad

    n = 2_000_000 if _level(level) else 100_000
    loss, lr, sigma = Rugged(dim=1, stiffness=1.0, amplitude=0.5, wavelength=0.6), 0.02, 10.0
    y = np.array([[1.3]])
    expected = float((y - lr * smoothed_grad(loss, y, lr, sigma)[0])[0, 0])
    mean, se = expected_smoothed_step(loss, y, lr, sigma, n_samples=n, seed=9)
    return Check("smoothed_step", f"E[y_(t+1) | y_t = 1.3], rugged 1-D loss, η = {lr}, σ = {sigma:g}",
                 "Kleinberg, Li & Yuan, ICML 2018 (arXiv:1802.06175): a gradient step on f̃ (closed form)",
                 expected, float(mean[0, 0]), float(se[0, 0]), N_SE * float(se[0, 0]),
                 f"{N_SE:g} SE, SE = sd/sqrt(pairs), {n // 2} antithetic pairs ±ω")


# -------------------------------------------------- landscape geometry (docs/validation.md)
def _muller_brown_saddle_row(which: int) -> Callable[[str], Check]:
    def row(level: str) -> Check:
        from .geometry.paths import nudged_elastic_band
        from .landscapes.toy import MullerBrown
        from .measure.critical_points import find_critical_points

        mb = MullerBrown()
        starts = np.array([[-0.55, 1.44], [0.62, 0.03], [-0.05, 0.47], [-0.82, 0.62], [0.21, 0.29]])
        cp = find_critical_points(mb, starts)
        minima = cp.x[cp.index == 0]
        minima = minima[np.argsort(minima[:, 0])]
        path = nudged_elastic_band(mb, minima[which], minima[which + 1], n_images=15 if _level(level) else 9,
                                   tol=1e-7)
        i = int(np.argmin(np.linalg.norm(cp.x - path.saddle, axis=1)))
        return Check(f"neb_muller_brown_saddle_{which + 1}",
                     f"climbing-image NEB saddle energy, Müller–Brown, minima {which + 1}–{which + 2}",
                     "Henkelman, Uberuaga & Jónsson, JCP 113, 9901 (2000); saddle of sgdsde's critical-point "
                     "finder", float(cp.energy[i]), float(path.energies.max()), 0.0, 1e-6,
                     f"1e-6 (issue 19): NEB force tol 1e-7 × |λ| ≤ 1e3 curvature; {path.n_iterations} "
                     "iterations, one batched gradient call each")
    row.__name__ = f"neb_muller_brown_saddle_{which + 1}"
    return row


def hutchpp_goe_row(level: str) -> Check:
    from .geometry.hessian import hutchpp_trace
    from .landscapes.toy import Quadratic
    from .random import STREAM_USER, normals

    n = 1000 if _level(level) else 300
    g = normals(61, np.arange(n), 0, n, STREAM_USER + 22)
    h = (g + g.T) / math.sqrt(2 * n) + 3.0 * np.eye(n)  # GOE on [1, 5]: positive definite
    est = hutchpp_trace(Quadratic(h), np.zeros(n), n_products=150, seed=5)
    return Check("hutchpp_goe_trace", f"Hutch++ trace of a GOE + 3 I matrix, n = {n}, 150 products",
                 "Meyer, Musco, Musco & Woodruff, SOSA 2021 (arXiv:2010.09649): unbiased",
                 float(np.trace(h)), est.value, est.stderr, N_SE * est.stderr,
                 f"{N_SE:g} SE, SE = sd of the 50 Hutchinson terms / sqrt(50)")


def local_free_energy_row(level: str) -> Check:
    from .geometry.local_entropy import local_free_energy, local_free_energy_exact
    from .landscapes.toy import NarrowWideWells

    wells = NarrowWideWells()
    x = wells.minima()[1:]
    exact, _ = local_free_energy_exact(wells, x, 1.0, 0.5, bounds=[(-8, 8)], n_grid=4001)
    n_inner, n_steps = (32, 8000) if _level(level) else (8, 2000)
    est = local_free_energy(wells, x, 1.0, 0.5, n_inner=n_inner, n_steps=n_steps, dt=2e-3, seed=4)
    return Check("local_free_energy", "local free energy F(x; γ = 1, T = 0.5) at the wide minimum of "
                 "NarrowWideWells", "Chaudhari et al., ICLR 2017 (arXiv:1611.01838); exact quadrature",
                 float(exact[0]), float(est.value[0]), float(est.stderr[0]), N_SE * float(est.stderr[0]),
                 f"{N_SE:g} SE: thermodynamic integration over 8 Gauss–Legendre nodes, SE from {n_inner} "
                 f"independent inner particles per node ({n_steps} LeimkuhlerMatthews steps, dt = 2e-3)")


def spiked_covariance_outlier_row(level: str) -> Check:
    from .geometry.hessian import extreme_eigenpairs
    from .geometry.outliers import count_outliers
    from .landscapes.toy import Quadratic
    from .random import STREAM_USER, normals

    d, n, theta = 400, 1600, 3.0
    gamma = d / n
    draws = 16 if _level(level) else 4
    scale = np.ones(d)
    scale[0] = math.sqrt(1.0 + theta)
    tops = []
    for r in range(draws):
        x = normals(62, np.arange(n), r, d, STREAM_USER + 23) * scale
        found = count_outliers(extreme_eigenpairs(Quadratic(x.T @ x / n), np.zeros(d), k=8, seed=r).values)
        tops.append(found.eigenvalues[0] if found.count == 1 else np.nan)  # NaN fails the row
    sd = (1 + theta) * math.sqrt(2 * (1 - gamma / theta**2) / n)  # Paul (2007) Thm 3, real Gaussian
    se = sd / math.sqrt(draws)
    return Check("spiked_covariance_outlier",
                 f"outlier of a spiked sample covariance, d = {d}, n = {n}, θ = {theta:g}: Lanczos top "
                 f"eigenvalue, counted as the one outlier, mean of {draws} draws",
                 "Baik, Ben Arous & Péché, Ann. Probab. 33, 1643 (2005); Baik & Silverstein (2006)",
                 (1 + theta) * (1 + gamma / theta), float(np.mean(tops)), se, N_SE * se,
                 f"{N_SE:g} SE, SE = (1 + θ)·sqrt(2(1 − γ/θ²)/n)/sqrt(draws) (Paul 2007)")


# ---------------------------------------------------------------- registry and runner
ROWS: dict[str, Callable[[str], Check]] = {
    "weak_order_1": weak_order_1,
    "weak_order_2": weak_order_2,
    "lyapunov_covariance": lyapunov_covariance_row,
    "sgd_covariance_additive": additive_sgd_covariance_row,
    "sgd_covariance_least_squares": least_squares_covariance_row,
    "eta_over_b_entropy_slope": eta_over_b_entropy_slope,
    "eta_over_b_collapse": eta_over_b_collapse,
    "fp_ou_transient": fokker_planck_ou_transient,
    "fp_boltzmann": fokker_planck_boltzmann,
    "stationary_variance_EulerMaruyama": em_variance,
    "stationary_variance_LeimkuhlerMatthews": lm_variance,
    "stationary_variance_BAOAB": baoab_variance,
    "pspin_paramagnetic_energy": pspin_paramagnetic_energy,
    "pspin_gradient_descent": pspin_gradient_descent,
    "critical_point_counts": critical_point_counts,
    "mfpt_double_well": mfpt_double_well,
    "kramers_limit": kramers_limit,
    **{f"pspin_{what}_p{p}": _pspin_constant(what, p)
       for what in ("threshold", "ground_state", "T_d", "T_s") for p in (3, 4)},
    "sgd_multiplicative_loss": multiplicative_sgd_loss_row,
    "implicit_regularisation": implicit_regularisation_row,
    "parity_gradient_variance": parity_gradient_variance_row,
    **{f"tail_index_alpha_{a:g}": _tail_index_row(a) for a in (1.2, 1.5, 1.8, 2.0)},
    "fdr_sgd": _fdr_row(0.0),
    "fdr_heavy_ball": _fdr_row(0.7),
    "smoothed_step": smoothed_step_row,
    "neb_muller_brown_saddle_1": _muller_brown_saddle_row(0),
    "neb_muller_brown_saddle_2": _muller_brown_saddle_row(1),
    "hutchpp_goe_trace": hutchpp_goe_row,
    "local_free_energy": local_free_energy_row,
    "sgd_current_least_squares": sgd_current_row,
    "spiked_covariance_outlier": spiked_covariance_outlier_row,
    "sgd_multiplicative_absolute_loss": absolute_multiplicative_sgd_loss_row,
}


def run_validation(level: str = "quick", names: Iterable[str] | None = None,
                   progress: Callable[[Check, int, int], None] | None = None) -> list[Check]:
    """Run the validation rows and return their checks.

    Parameters
    ----------
    level : {"quick", "full"}
        Sample sizes (module docstring).
    names : iterable of str, optional
        Rows to run (keys of :data:`ROWS`); default all, in table order.
    progress : callable, optional
        ``progress(check, i, n)`` after each row (e.g. to print a line).

    Returns
    -------
    list of Check
        With ``seconds`` filled in.
    """
    _level(level)
    names = list(ROWS) if names is None else list(names)
    unknown = [n for n in names if n not in ROWS]
    if unknown:
        raise ValueError(f"unknown validation rows {unknown}; known: {list(ROWS)}")
    checks = []
    for i, name in enumerate(names):
        start = time.perf_counter()
        check = replace(ROWS[name](level), seconds=time.perf_counter() - start)
        checks.append(check)
        if progress is not None:
            progress(check, i, len(names))
    return checks


def _num(x: float) -> str:
    return "0" if x == 0 else f"{x:.7g}"


def _cells(c: Check) -> list[str]:
    measured = _num(c.measured) + (f" ± {c.stderr:.2g}" if c.stderr > 0 else "")
    tol = ("> " if c.sense == "above" else "± ") + f"{c.tolerance:.2g}"
    return [c.quantity, c.source, _num(c.expected), measured, tol, "pass" if c.passed else "FAIL"]


HEADER = ["quantity", "source", "expected", "measured ± SE", "tolerance", "result"]


def format_table(checks: list[Check]) -> str:
    """A plain-text table for the terminal (the source column is left to the Markdown table)."""
    keep = [0, 2, 3, 4, 5]
    rows = [[HEADER[j] for j in keep]] + [[_cells(c)[j] for j in keep] for c in checks]
    widths = [max(len(r[j]) for r in rows) for j in range(len(keep))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    n_pass = sum(c.passed for c in checks)
    lines.append(f"{n_pass}/{len(checks)} rows pass ({sum(c.seconds for c in checks):.0f} s)")
    return "\n".join(lines)


def format_markdown(checks: list[Check], level: str | None = None) -> str:
    """A Markdown table with one row per check, then the tolerance rules as notes."""
    def escape(text: str) -> str:
        return text.replace("|", "\\|")

    lines = []
    if level is not None:
        n_pass = sum(c.passed for c in checks)
        lines += [f"`sgdsde validate --{level}`: {n_pass}/{len(checks)} rows pass.", ""]
    lines += ["| # | " + " | ".join(HEADER) + " | time (s) |", "|" + "---|" * (len(HEADER) + 2)]
    for i, c in enumerate(checks, 1):
        lines.append(f"| {i} | " + " | ".join(escape(x) for x in _cells(c)) + f" | {c.seconds:.1f} |")
    lines += ["", "Tolerances:", ""]
    lines += [f"{i}. {escape(c.rule)}" for i, c in enumerate(checks, 1)]
    return "\n".join(lines) + "\n"

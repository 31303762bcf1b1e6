"""p-spin theory: docs/theory.md §4's table, the equations behind each constant, complexities, CK = ABC/√2."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad

from sgdsde.landscapes.pspin import MixedSphericalPSpin, SphericalPSpin
from sgdsde.theory.pspin import (
    I1,
    PSpinCovariance,
    complexity,
    complexity_by_index,
    dynamical_temperature,
    ground_state_energy,
    layer_energy,
    paramagnetic_energy,
    static_temperature,
    threshold_energy,
)

# docs/theory.md §4, ABC normalisation (8 significant digits)
TABLE = {
    3: {"threshold": -1.6329932, "ground": -1.6569984, "T_d": 0.8660254, "T_s": 0.8288055},
    4: {"threshold": -1.7320508, "ground": -1.7940850, "T_d": 0.7698004, "T_s": 0.7114051},
}
FUNCTIONS = {"threshold": threshold_energy, "ground": ground_state_energy,
             "T_d": dynamical_temperature, "T_s": static_temperature}


@pytest.mark.parametrize("p", sorted(TABLE))
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_constants_match_reference_table(p, name):
    value = FUNCTIONS[name](p)
    assert value == pytest.approx(TABLE[p][name], abs=1e-6)
    # CK = ABC / √2 for energies and temperatures alike (H_CK ≈ H_ABC/√2 in law)
    assert FUNCTIONS[name](p, normalization="ck") == pytest.approx(value / math.sqrt(2), rel=1e-12)


@pytest.mark.parametrize("p", [3, 4, 5])
def test_static_temperature_solves_the_1rsb_equations(p):
    """At T_s some q > 0 solves β²ξ'(q)(1−q) = q and β²ξ(q) + q + ln(1−q) = 0 (Crisanti–Sommers)."""
    beta2 = static_temperature(p) ** -2

    def plateau(q):
        return beta2 * p * q ** (p - 1) * (1 - q) - q

    q = max((r for r in np.roots([-beta2 * p, beta2 * p] + [0] * (p - 3) + [-1, 0]) if abs(r.imag) < 1e-12
             and 0 < r.real < 1), key=lambda r: r.real).real  # the larger plateau root
    assert plateau(q) == pytest.approx(0, abs=1e-12)
    assert beta2 * q**p + q + math.log1p(-q) == pytest.approx(0, abs=1e-10)
    assert static_temperature(p) < dynamical_temperature(p)


@pytest.mark.parametrize("xi", [PSpinCovariance({3: 1.0, 4: 0.5}), PSpinCovariance({2: 0.3, 4: 1.0}),
                                PSpinCovariance({3: 1.0, 5: 1.0}, "ck")])
def test_dynamical_temperature_of_mixtures_is_the_plateau_edge(xi):
    """Just above T_d the plateau equation β²ξ'(q)(1−q) = q has no root q > 0, just below it has."""
    t_d = dynamical_temperature(xi=xi)
    q = np.linspace(1e-4, 1 - 1e-6, 200_001)
    for factor, has_root in ((1 + 1e-6, False), (1 - 1e-6, True)):
        f = xi.xi_prime(q) * (1 - q) / (t_d * factor) ** 2 - q
        assert bool(np.any(f > 0)) == has_root, factor


def test_dynamical_temperature_numeric_path_matches_closed_form():
    """The mixture code path (grid + Brent) on a mixture that is pure up to 1e-8."""
    for p in (3, 4):
        nearly_pure = PSpinCovariance({p: 1.0, p + 1: 1e-8})
        assert dynamical_temperature(xi=nearly_pure) == pytest.approx(dynamical_temperature(p), abs=1e-8)
        assert static_temperature(xi=nearly_pure) == pytest.approx(static_temperature(p), abs=1e-8)


def test_spherical_sk_has_continuous_transition():
    """p = 2: T_d = sqrt(ξ''(0)) = √2 (ABC), the edge of the plateau equation at q -> 0; no 1RSB T_s."""
    assert dynamical_temperature(2) == pytest.approx(math.sqrt(2), rel=1e-15)
    with pytest.raises(ValueError, match="no 1RSB static transition"):
        static_temperature(2)


@pytest.mark.parametrize("p", [3, 4, 6])
def test_i1_is_the_gaussian_orthogonal_ensemble_edge_rate(p):
    """I_1(u) = ∫_{√2}^{|x|} sqrt(y² − 2) dy, x = u sqrt(p/(2(p−1))): the large-deviation rate of
    the smallest GOE eigenvalue (semicircle radius √2) at x, by quadrature."""
    e_inf = 2 * math.sqrt((p - 1) / p)
    for u in (-e_inf, -e_inf - 0.01, -e_inf - 0.3, -3.0):
        x = abs(u) * math.sqrt(p / (2 * (p - 1)))
        rate = quad(lambda y: math.sqrt(max(y * y - 2, 0.0)), math.sqrt(2), x, epsabs=1e-13)[0]
        assert float(I1(u, p)) == pytest.approx(rate, abs=1e-11)


@pytest.mark.parametrize("p", [3, 4])
def test_complexities(p):
    e_inf = -threshold_energy(p)
    # ground state and layers: zeros of Θ_{k,p}, increasing with k towards the threshold
    layers = [layer_energy(k, p) for k in range(6)]
    for k, u in enumerate(layers):
        assert float(complexity_by_index(u, k, p)) == pytest.approx(0, abs=1e-12)
    assert layers[0] == ground_state_energy(p)
    assert np.all(np.diff(layers) > 0) and layers[-1] < -e_inf
    # Θ_p is continuous at −E_∞ and at 0, constant ½ ln(p−1) above 0, and equals Θ_{0,p} below −E_∞
    eps = 1e-9
    for u0 in (-e_inf, 0.0):
        assert float(complexity(u0 - eps, p)) == pytest.approx(float(complexity(u0 + eps, p)), abs=1e-7)
    assert float(complexity(1.0, p)) == pytest.approx(0.5 * math.log(p - 1), rel=1e-15)
    u = np.linspace(-2.5, -e_inf, 50)
    np.testing.assert_allclose(complexity(u, p), complexity_by_index(u, 0, p), rtol=1e-13, atol=1e-15)
    # at the threshold Θ_{k,p} = ½ ln(p−1) − (p−2)/p for every k
    for k in range(3):
        assert float(complexity_by_index(-e_inf, k, p)) == pytest.approx(0.5 * math.log(p - 1) - (p - 2) / p)


def test_paramagnetic_energy():
    assert paramagnetic_energy(2.0, p=3) == -0.5
    assert paramagnetic_energy(2.0, p=3, normalization="ck") == -0.25
    np.testing.assert_allclose(paramagnetic_energy(np.array([1.0, 4.0]), p=4), [-1.0, -0.25])
    mixed = MixedSphericalPSpin(4, {2: 0.5, 3: 2.0})
    assert paramagnetic_energy(2.0, xi=mixed.xi) == pytest.approx(-(0.25 + 4.0) / 2.0, rel=1e-15)
    assert paramagnetic_energy(1.0, xi=mixed.covariance) == pytest.approx(-4.25, rel=1e-15)
    ck = SphericalPSpin(4, 3, "ck")
    assert paramagnetic_energy(0.5, xi=ck.covariance) == paramagnetic_energy(0.5, p=3, normalization="ck")


def test_landscape_covariance_feeds_the_theory():
    model = MixedSphericalPSpin(5, {3: 1.0, 4: 0.5}, "ck")
    assert dynamical_temperature(xi=model.covariance) == dynamical_temperature(
        xi=PSpinCovariance({3: 1.0, 4: 0.5}, "ck"))


@pytest.mark.parametrize("call, error, match", [
    (lambda: threshold_energy(1), ValueError, "p must be an integer >= 2"),
    (lambda: ground_state_energy(3, "sk"), ValueError, "normalization must be one of"),
    (lambda: dynamical_temperature(), ValueError, "exactly one of p="),
    (lambda: dynamical_temperature(3, xi=PSpinCovariance({3: 1.0})), ValueError, "exactly one of p="),
    (lambda: dynamical_temperature(xi=PSpinCovariance({3: 1.0}), normalization="ck"), ValueError,
     "xi carries its own normalization"),
    (lambda: static_temperature(xi=lambda q: q**3), TypeError, "PSpinCovariance"),
    (lambda: paramagnetic_energy(0.0, p=3), ValueError, "temperature must be finite and > 0"),
    (lambda: paramagnetic_energy(1.0), ValueError, "exactly one of p="),
    (lambda: I1(-1.0, 3), ValueError, "I1 is defined for u <= -E_inf"),
    (lambda: complexity_by_index(-2.0, -1, 3), ValueError, "k must be an integer >= 0"),
    (lambda: PSpinCovariance({3: -1.0}), ValueError, "c_3 must be a finite number > 0"),
])
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()

"""Closed forms of the spherical p-spin glass (docs/theory.md §4): constants and ABC complexities.

Energies are signed energies per spin ``u = H/N``; temperatures are in energy units.

Normalisations
--------------
``"abc"`` (Auffinger, Ben Arous & Černý, CPAM 66, 165 (2013), arXiv:1003.1129), the
default: ``ξ(q) = Σ_p c_p² q^p``, for the pure model ``ξ(q) = q^p``.
``"ck"`` (Cugliandolo & Kurchan, PRL 71, 173 (1993); Castellani & Cavagna, J. Stat. Mech.
P05012 (2005)): ``ξ(q) = ½ Σ_p c_p² q^p``.  The Hamiltonians differ by a factor √2 in law,
so energies and temperatures in CK are the ABC ones divided by √2.

What is computed, and how
-------------------------
* Threshold ``−E_∞``, ``E_∞ = 2 sqrt((p−1)/p)``: the energy where the Riemannian Hessian of
  typical critical points becomes marginal (ABC Theorem 2.5).
* Ground state ``−E_0``: the zero of ``Θ_{0,p}`` (ABC Theorem 2.12), and ``−E_k`` the zero
  of ``Θ_{k,p}``, found by bracketing (``scipy.optimize.brentq``).
* Dynamical temperature ``T_d``: the highest temperature at which the plateau equation
  of the equilibrium Cugliandolo–Kurchan dynamics ``β² ξ'(q)(1 − q) = q`` has a root
  ``q > 0``, i.e. ``T_d² = max_{0<q<1} ξ'(q)(1 − q)/q``.  For the pure model this is
  ``T_d² = p (p−2)^{p−2} / (p−1)^{p−1}`` (ABC units), which is used directly.
* Static temperature ``T_s``: from the one-step replica-symmetry-breaking (1RSB, ``q_0 = 0``)
  free energy of Crisanti & Sommers (Z. Phys. B 87, 341 (1992)),
  ``−2βF/N = β²[ξ(1) − (1 − m) ξ(q)] + ((m − 1)/m) ln(1 − q) + (1/m) ln(1 − (1 − m) q)``.
  Its stationarity in ``q`` at ``m = 1`` is the plateau equation; stationarity in ``m`` at
  ``m = 1`` adds ``β² ξ(q) + q + ln(1 − q) = 0``.  Eliminating β leaves one equation in q,
  ``g(q) = q ξ(q) / (ξ'(q)(1 − q)) + q + ln(1 − q) = 0``, solved by ``brentq``.  The 1RSB
  ansatz is exact for the pure model (p ≥ 3); for mixtures it is the 1RSB value, which is
  exact only where 1RSB is the correct ansatz.
* Paramagnetic energy ``−ξ(1)/T`` (annealed computation, exact for ``T > T_d`` as N → ∞).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType

import numpy as np
from scipy.optimize import brentq, minimize_scalar

__all__ = [
    "NORMALIZATIONS",
    "PSpinCovariance",
    "threshold_energy",
    "ground_state_energy",
    "layer_energy",
    "dynamical_temperature",
    "static_temperature",
    "paramagnetic_energy",
    "complexity",
    "complexity_by_index",
    "I1",
]

NORMALIZATIONS = ("abc", "ck")
_CK_WEIGHT = 0.5  # ξ_CK = ξ_ABC / 2


def check_normalization(normalization: str) -> str:
    """Return ``normalization`` if it is ``"abc"`` or ``"ck"``; raise ValueError otherwise."""
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
    return normalization


def check_degree(p, name: str = "p") -> int:
    """Return ``p`` as an int if it is an integer >= 2; raise otherwise."""
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= 2, got {p!r}")
    if p < 2:
        raise ValueError(f"{name} must be an integer >= 2, got {p}")
    return int(p)


def _energy_scale(normalization: str) -> float:
    """Factor from ABC energies and temperatures to those of ``normalization``."""
    return 1.0 if check_normalization(normalization) == "abc" else math.sqrt(_CK_WEIGHT)


class PSpinCovariance:
    """The covariance function ``ξ`` of a (mixed) spherical p-spin model.

    ``E[H(σ) H(σ')] = N ξ(q)`` with ``q = σ·σ'/N``, ``ξ(q) = w Σ_p c_p² q^p``, ``w = 1`` in the
    ABC normalisation and ``w = ½`` in the CK one.

    Parameters
    ----------
    coefficients : mapping of int to float
        ``{p: c_p}`` with degrees ``p >= 2`` and ``c_p > 0``.
    normalization : {"abc", "ck"}
        Convention of the model.

    Examples
    --------
    >>> xi = PSpinCovariance({3: 1.0})
    >>> float(xi(0.5)), float(xi.xi_prime(1.0))
    (0.125, 3.0)
    """

    def __init__(self, coefficients: Mapping[int, float], normalization: str = "abc"):
        if not isinstance(coefficients, Mapping) or not coefficients:
            raise TypeError(f"coefficients must be a non-empty mapping {{p: c_p}}, got {coefficients!r}")
        checked = {}
        for p, c in sorted(coefficients.items()):
            p = check_degree(p, "degree p in coefficients")
            if isinstance(c, (bool, np.bool_)) or not isinstance(c, (int, float, np.integer, np.floating)):
                raise TypeError(f"coefficient c_{p} must be a real number > 0, got {c!r}")
            c = float(c)
            if not (math.isfinite(c) and c > 0):
                raise ValueError(f"coefficient c_{p} must be a finite number > 0, got {c}")
            checked[p] = c
        self.coefficients = MappingProxyType(checked)
        self.normalization = check_normalization(normalization)
        self._weight = 1.0 if normalization == "abc" else _CK_WEIGHT

    @property
    def degrees(self) -> tuple[int, ...]:
        """The degrees p present, ascending."""
        return tuple(self.coefficients)

    @property
    def is_pure(self) -> bool:
        """True for a single degree."""
        return len(self.coefficients) == 1

    def _series(self, q, order: int):
        q = np.asarray(q, dtype=np.float64)
        out = np.zeros_like(q)
        for p, c in self.coefficients.items():
            falling = math.perm(p, order)  # p (p-1) ... (p-order+1)
            out = out + self._weight * c * c * falling * q ** (p - order)
        return out

    def xi(self, q):
        """ξ(q), vectorised over q (dimensionless)."""
        return self._series(q, 0)

    def xi_prime(self, q):
        """ξ'(q)."""
        return self._series(q, 1)

    def xi_second(self, q):
        """ξ''(q)."""
        return self._series(q, 2)

    def xi_third(self, q):
        """Third derivative of ξ at q."""
        return self._series(q, 3)

    __call__ = xi
    prime = xi_prime
    second = xi_second
    third = xi_third

    @classmethod
    def from_powers(cls, powers: Mapping[int, float], normalization: str = "abc") -> PSpinCovariance:
        """The model with ``ξ(q) = Σ_p a_p q^p`` given as ``{p: a_p}`` (a_p >= 0, zeros dropped).

        In ``normalization`` the weight w is folded in: ``c_p = sqrt(a_p / w)``.
        """
        if not isinstance(powers, Mapping) or not powers:
            raise TypeError(f"powers must be a non-empty mapping {{p: a_p}}, got {powers!r}")
        weight = 1.0 if check_normalization(normalization) == "abc" else _CK_WEIGHT
        coefficients, exact = {}, {}
        for p, a in powers.items():
            p = check_degree(p, "the power p in powers")
            a = float(a)
            if not (math.isfinite(a) and a >= 0):
                raise ValueError(f"powers: a_{p} must be a finite number >= 0, got {a}")
            if a > 0:
                coefficients[p], exact[p] = math.sqrt(a / weight), a
        if not coefficients:
            raise ValueError("powers: at least one a_p must be > 0")
        model = cls(coefficients, normalization)
        model._powers = dict(sorted(exact.items()))  # the a_p as given, not re-squared
        return model

    @classmethod
    def pure(cls, p: int, normalization: str = "abc") -> PSpinCovariance:
        """The pure p-spin model: ``ξ = q^p`` (ABC) or ``q^p / 2`` (CK)."""
        return cls({check_degree(p): 1.0}, normalization)

    @property
    def powers(self) -> dict[int, float]:
        """``{p: a_p}`` with ``ξ(q) = Σ_p a_p q^p`` (the weight w folded in)."""
        exact = getattr(self, "_powers", None)
        return dict(exact) if exact is not None else {p: self._weight * c * c
                                                      for p, c in self.coefficients.items()}

    @property
    def array(self) -> np.ndarray:
        """Dense ``a[p]`` of ``ξ(q) = Σ_p a_p q^p``, shape (max p + 1,) (a new array)."""
        a = np.zeros(max(self.coefficients) + 1)
        for p, ap in self.powers.items():
            a[p] = ap
        return a

    def __repr__(self):
        return f"PSpinCovariance({dict(self.coefficients)!r}, normalization={self.normalization!r})"

    def __eq__(self, other):
        return (isinstance(other, PSpinCovariance) and dict(self.coefficients) == dict(other.coefficients)
                and self.normalization == other.normalization)

    def __hash__(self):
        return hash((tuple(self.coefficients.items()), self.normalization))


def _covariance(p, xi, normalization) -> PSpinCovariance:
    """The model named by ``p`` (pure, in ``normalization``) or by ``xi``: exactly one."""
    if (p is None) == (xi is None):
        raise ValueError("give exactly one of p= (pure model) or xi= (a PSpinCovariance)")
    if xi is not None:
        if normalization is not None:
            raise ValueError("normalization applies to p= only: xi carries its own normalization")
        if not isinstance(xi, PSpinCovariance):
            raise TypeError(f"xi must be a PSpinCovariance (e.g. a landscape's .covariance), got {xi!r}")
        return xi
    return PSpinCovariance({check_degree(p): 1.0}, "abc" if normalization is None else normalization)


# --------------------------------------------------------------------------- energies
def _e_infinity(p: int) -> float:
    return 2.0 * math.sqrt((p - 1) / p)


def threshold_energy(p: int, normalization: str = "abc") -> float:
    """Threshold energy per spin ``−E_∞``, ``E_∞ = 2 sqrt((p−1)/p)`` (ABC).

    Parameters
    ----------
    p : int
        Degree, ``p >= 2``.
    normalization : {"abc", "ck"}
        CK values are the ABC ones divided by √2.

    Returns
    -------
    float
        ``−E_∞`` (negative), energy per spin.

    References
    ----------
    Auffinger, Ben Arous & Černý, CPAM 66, 165 (2013), eq. (2.9).
    """
    return -_e_infinity(check_degree(p)) * _energy_scale(normalization)


def _energies(u) -> np.ndarray:
    """``u`` as a float64 array of finite energies per spin, or a ValueError."""
    u = np.asarray(u, dtype=np.float64)
    if not np.all(np.isfinite(u)):
        raise ValueError("u (energy per spin) must be finite; got NaN or inf")
    return u


def I1(u, p: int):
    """ABC's function ``I_1(u) = −(u/E_∞²) sqrt(u² − E_∞²) − ln(−u + sqrt(u² − E_∞²)) + ln E_∞``.

    Defined for ``u <= −E_∞`` (ABC energies per spin); zero at ``u = −E_∞``, increasing
    as u decreases.

    Raises
    ------
    ValueError
        If some ``u > −E_∞``.
    """
    p = check_degree(p)
    u = _energies(u)
    e_inf = _e_infinity(p)
    if np.any(u > -e_inf * (1 - 1e-14)):  # allow rounding at the edge
        raise ValueError(f"I1 is defined for u <= -E_inf = {-e_inf:.10g}; got max u = {u.max():.10g}")
    return _i1(np.minimum(u, -e_inf), e_inf)


def _i1(u, e_inf):
    root = np.sqrt(np.maximum(u * u - e_inf * e_inf, 0.0))
    return -(u / e_inf**2) * root - np.log(-u + root) + math.log(e_inf)


def complexity_by_index(u, k: int, p: int):
    """ABC complexity of critical points of index k, ``Θ_{k,p}(u)`` (ABC units).

    ``Θ_{k,p}(u) = ½ ln(p−1) − (p−2)u²/(4(p−1)) − (k+1) I_1(u)`` for ``u <= −E_∞`` and
    ``½ ln(p−1) − (p−2)/p`` above: the exponential growth rate of the expected number of
    critical points of index k with energy per spin below u.

    Parameters
    ----------
    u : array_like
        Energy per spin (ABC normalisation).
    k : int
        Index (number of negative Riemannian-Hessian eigenvalues), ``k >= 0``.
    p : int
        Degree, ``p >= 2``.

    References
    ----------
    Auffinger, Ben Arous & Černý, CPAM 66, 165 (2013), Theorem 2.8.
    """
    p = check_degree(p)
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 0:
        raise ValueError(f"k must be an integer >= 0, got {k!r}")
    u = _energies(u)
    e_inf = _e_infinity(p)
    i1 = _i1(np.minimum(u, -e_inf), e_inf)
    below = 0.5 * math.log(p - 1) - (p - 2) / (4 * (p - 1)) * u**2 - (k + 1) * i1
    return np.where(u <= -e_inf, below, 0.5 * math.log(p - 1) - (p - 2) / p)


def complexity(u, p: int):
    """ABC complexity of all critical points with energy per spin below u, ``Θ_p(u)``.

    ``½ ln(p−1) − (p−2)u²/(4(p−1)) − I_1(u)`` for ``u <= −E_∞``,
    ``½ ln(p−1) − (p−2)u²/(4(p−1))`` for ``−E_∞ <= u <= 0``, ``½ ln(p−1)`` for ``u >= 0``.

    References
    ----------
    Auffinger, Ben Arous & Černý, CPAM 66, 165 (2013), Theorem 2.5.
    """
    p = check_degree(p)
    u = _energies(u)
    e_inf = _e_infinity(p)
    smooth = 0.5 * math.log(p - 1) - (p - 2) * u**2 / (4 * (p - 1))
    out = np.where(u <= -e_inf, smooth - _i1(np.minimum(u, -e_inf), e_inf), smooth)
    return np.where(u >= 0, 0.5 * math.log(p - 1), out)


def layer_energy(k: int, p: int) -> float:
    """``−E_k``: the zero of ``Θ_{k,p}``, the lowest energy per spin of index-k critical points (ABC).

    ``−E_0`` is the ground-state energy; ``−E_k`` increases to ``−E_∞`` as k grows.  For
    ``p = 2`` every ``−E_k = −E_∞ = −√2``.
    """
    p = check_degree(p)
    e_inf = _e_infinity(p)
    if p == 2:
        return -e_inf

    def theta(u):
        return float(complexity_by_index(u, k, p))

    lo = -e_inf - 1.0
    while theta(lo) > 0:
        lo -= 1.0
    return brentq(theta, lo, -e_inf, xtol=1e-15, rtol=4 * np.finfo(float).eps)


def ground_state_energy(p: int, normalization: str = "abc") -> float:
    """Ground-state energy per spin ``−E_0`` as N → ∞: the zero of ``Θ_{0,p}``.

    Parameters
    ----------
    p : int
        Degree, ``p >= 2``.
    normalization : {"abc", "ck"}
        CK values are the ABC ones divided by √2.

    References
    ----------
    Auffinger, Ben Arous & Černý, CPAM 66, 165 (2013), Theorem 2.12.
    """
    return layer_energy(0, p) * _energy_scale(normalization)


def paramagnetic_energy(temperature, p: int | None = None, xi: Callable | None = None,
                        normalization: str | None = None):
    """Equilibrium energy per spin of the paramagnet, ``−ξ(1)/T`` (exact as N → ∞ for T > T_d).

    Parameters
    ----------
    temperature : float or array_like
        T > 0 (energy units of the model).
    p : int, optional
        Degree of a pure model (ξ(1) = 1 in ABC, ½ in CK).
    xi : callable, optional
        The covariance ``ξ(q)`` of any model in its own normalisation, e.g. a landscape's
        ``xi`` method or a :class:`PSpinCovariance`.  Give exactly one of ``p`` and ``xi``.
    normalization : {"abc", "ck"}, optional
        Convention for ``p`` (default ABC); not allowed with ``xi``.

    Returns
    -------
    float or ndarray
        ``−ξ(1)/T``.
    """
    t = np.asarray(temperature, dtype=np.float64)
    if not np.all(np.isfinite(t) & (t > 0)):
        raise ValueError(f"temperature must be finite and > 0, got {temperature!r}")
    if (p is None) == (xi is None):
        raise ValueError("give exactly one of p= (pure model) or xi= (a covariance function)")
    if xi is None:
        xi1 = _covariance(p, None, normalization).xi(1.0)
    else:
        if normalization is not None:
            raise ValueError("normalization applies to p= only: xi carries its own normalization")
        if not callable(xi):
            raise TypeError(f"xi must be callable as xi(q), got {xi!r}")
        xi1 = xi(1.0)
    out = -float(xi1) / t
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------- temperatures
def _plateau_ratio(cov: PSpinCovariance, q):
    """``ξ'(q)(1 − q)/q``: the value of T² at which q solves the plateau equation."""
    return cov.xi_prime(q) * (1.0 - q) / q


def dynamical_temperature(p: int | None = None, normalization: str | None = None, *,
                          xi: PSpinCovariance | None = None) -> float:
    """Dynamical (mode-coupling) temperature ``T_d``.

    ``T_d² = max_{0<q<1} ξ'(q)(1 − q)/q``, the highest T at which the plateau equation
    ``β² ξ'(q)(1 − q) = q`` has a root q > 0.  Pure ABC model:
    ``T_d² = p (p−2)^{p−2} / (p−1)^{p−1}``.  If the maximum sits at q → 0 the transition is
    continuous and ``T_d = sqrt(ξ''(0))``.

    Parameters
    ----------
    p : int, optional
        Degree of a pure model.
    normalization : {"abc", "ck"}, optional
        Convention for ``p`` (default ABC).
    xi : PSpinCovariance, optional
        Any mixture instead of ``p`` (e.g. ``landscape.covariance``).

    References
    ----------
    Crisanti, Horner & Sommers, Z. Phys. B 92, 257 (1993); Castellani & Cavagna, J. Stat.
    Mech. P05012 (2005), §5.
    """
    cov = _covariance(p, xi, normalization)
    if cov.is_pure:
        (deg, c), = cov.coefficients.items()
        w = 1.0 if cov.normalization == "abc" else _CK_WEIGHT
        t2 = deg * (deg - 2) ** (deg - 2) / (deg - 1) ** (deg - 1)  # 0**0 == 1 gives 2 at p = 2
        return math.sqrt(w * c * c * t2)
    return math.sqrt(_max_plateau_ratio(cov)[1])


def _max_plateau_ratio(cov: PSpinCovariance) -> tuple[float, float]:
    """``(q*, max)`` of ``ξ'(q)(1 − q)/q`` on (0, 1): a grid for the global maximum, then Brent."""
    grid = np.linspace(1e-6, 1 - 1e-6, 20001)
    values = _plateau_ratio(cov, grid)
    i = int(np.argmax(values))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    res = minimize_scalar(lambda q: -_plateau_ratio(cov, q), bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-13})
    q_star, best = (float(res.x), -float(res.fun)) if -res.fun >= values[i] else (grid[i], values[i])
    limit0 = float(cov.xi_second(0.0))  # the ratio's limit at q -> 0
    return (0.0, limit0) if limit0 >= best else (q_star, best)


def _static_condition(cov: PSpinCovariance, q):
    """``g(q) = q ξ(q) / (ξ'(q)(1 − q)) + q + ln(1 − q)``: zero at the 1RSB static transition."""
    return q * cov.xi(q) / (cov.xi_prime(q) * (1.0 - q)) + q + np.log1p(-q)


def static_temperature(p: int | None = None, normalization: str | None = None, *,
                       xi: PSpinCovariance | None = None) -> float:
    """Static (Kauzmann) temperature ``T_s`` from the 1RSB equations at breakpoint m = 1.

    Solves ``β² ξ'(q)(1 − q) = q`` and ``β² ξ(q) + q + ln(1 − q) = 0`` for q > 0 (module
    docstring), on the branch ``q > q_d`` (the plateau at ``T_d``).

    Parameters
    ----------
    p : int, optional
        Degree of a pure model, ``p >= 3`` (p = 2 has no 1RSB transition).
    normalization : {"abc", "ck"}, optional
        Convention for ``p`` (default ABC).
    xi : PSpinCovariance, optional
        Any mixture instead of ``p``: the result is its 1RSB (q₀ = 0) value.

    Raises
    ------
    ValueError
        If the 1RSB equations have no solution (e.g. p = 2).

    References
    ----------
    Crisanti & Sommers, Z. Phys. B 87, 341 (1992), eqs. (4.9)–(4.11).
    """
    cov = _covariance(p, xi, normalization)
    q_d = _max_plateau_ratio(cov)[0]
    grid = np.linspace(max(q_d, 1e-6), 1 - 1e-9, 20001)
    g = _static_condition(cov, grid)
    crossings = np.nonzero(np.sign(g[:-1]) != np.sign(g[1:]))[0]
    if crossings.size == 0:
        raise ValueError(f"no 1RSB static transition (m = 1, q0 = 0) for {cov!r}")
    i = int(crossings[0])
    q_s = brentq(lambda q: float(_static_condition(cov, q)), grid[i], grid[i + 1], xtol=1e-15,
                 rtol=4 * np.finfo(float).eps)
    return math.sqrt(float(_plateau_ratio(cov, q_s)))

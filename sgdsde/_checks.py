"""Argument checks shared by the public API: one wording, one place.

Each returns the value converted (``float`` or ``int``) or raises an error that names the
parameter and the allowed range: ``TypeError`` for a value of the wrong kind (``bool`` and
strings are never numbers here), ``ValueError`` for one out of range (NaN included).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["real", "positive", "integer", "boolean"]


def real(value, name: str) -> float:
    """``value`` as a finite float."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise TypeError(f"{name} must be a finite number, got {type(value).__name__} {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a finite number, got {type(value).__name__}") from None
    if not math.isfinite(out):
        raise ValueError(f"{name} must be a finite number, got {out}")
    return out


def positive(value, name: str, allow_zero: bool = False) -> float:
    """``value`` as a finite float > 0 (``>= 0`` with ``allow_zero``)."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise TypeError(f"{name} must be a finite number {'>=' if allow_zero else '>'} 0, "
                        f"got {type(value).__name__} {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}") from None
    if not (math.isfinite(out) and (out >= 0 if allow_zero else out > 0)):
        raise ValueError(f"{name} must be a finite number {'>=' if allow_zero else '>'} 0, got {out}")
    return out


def integer(value, name: str, minimum: int = 0) -> int:
    """``value`` as an int >= ``minimum`` (Python or NumPy integers only)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def boolean(value, name: str) -> bool:
    """``value`` as a bool: True or False only (a truthy 1, "no" or None would switch silently)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)

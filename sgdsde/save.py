"""SaveAt: when to record, and what — observables computed on the fly, not cloud dumps."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ._checks import boolean

__all__ = ["SaveAt", "BUILTIN_OBSERVABLES"]

BUILTIN_OBSERVABLES = ("energy", "kinetic_energy", "mean", "position")


@dataclass(frozen=True)
class SaveAt:
    """When to record a simulation and which observables to compute.

    Parameters
    ----------
    every : int
        Record every ``every`` steps (and at the start and the last step).
    observables : mapping of str to callable or str
        ``name -> fn`` with ``fn(x) -> array`` evaluated on the positions (M, d) at each
        record, typically per-particle values of shape (M,).  A string names a built-in:
        ``"energy"`` (the landscape's U, (M,)), ``"kinetic_energy"`` (½ m |v|², (M,),
        underdamped only), ``"mean"`` (the cloud's mean position, (d,)), ``"position"``
        (a copy of the cloud, (M, d): memory grows with the number of records).
    start : bool
        Also record the initial state.

    Raises
    ------
    ValueError
        If ``every`` is not an integer >= 1 or a string names no built-in.
    TypeError
        If ``observables`` is not a mapping, a name is not a string, an observable is neither
        callable nor a string, or ``start`` is not a bool.

    Examples
    --------
    >>> SaveAt(every=100, observables={"energy": "energy", "x0": lambda x: x[:, 0]})
    SaveAt(every=100, observables=['energy', 'x0'], start=True)
    """

    every: int = 100
    observables: Mapping[str, Callable | str] = field(default_factory=dict)
    start: bool = True

    def __post_init__(self):
        if isinstance(self.every, bool) or not isinstance(self.every, (int, np.integer)) or self.every < 1:
            raise ValueError(f"every must be an integer number of steps >= 1, got {self.every!r}")
        boolean(self.start, "start")
        if not isinstance(self.observables, Mapping):
            raise TypeError("observables must be a mapping of name -> callable or built-in name, got "
                            f"{type(self.observables).__name__}")
        for name, fn in self.observables.items():
            if not isinstance(name, str):
                raise TypeError(f"observable names must be strings (they name the records in a "
                                f"saved file), got {name!r}")
            if isinstance(fn, str):
                if fn not in BUILTIN_OBSERVABLES:
                    raise ValueError(f"observable {name!r}: unknown built-in {fn!r}; "
                                     f"choose one of {', '.join(BUILTIN_OBSERVABLES)} or a callable")
            elif not callable(fn):
                raise TypeError(f"observable {name!r} must be a callable fn(x) or a built-in name")
        object.__setattr__(self, "observables", dict(self.observables))
        object.__setattr__(self, "start", bool(self.start))

    def evaluate(self, sde, x: np.ndarray, v: np.ndarray | None) -> dict[str, np.ndarray]:
        """Compute every observable on the state ``(x, v)``."""
        out = {}
        for name, fn in self.observables.items():
            if fn == "energy":
                value = sde.landscape.energy(x)
            elif fn == "kinetic_energy":
                if v is None:
                    raise ValueError(f"observable {name!r}: kinetic_energy needs underdamped dynamics")
                value = 0.5 * sde.mass * np.sum(v * v, axis=1)
            elif fn == "mean":
                value = x.mean(axis=0)
            elif fn == "position":
                value = x.copy()
            else:
                value = fn(x)
            out[name] = np.asarray(value)
        return out

    def __repr__(self):
        return f"SaveAt(every={self.every}, observables={list(self.observables)}, start={self.start})"

"""Optional extras: import an optional dependency, or say which extra to install.

Every place that needs a package outside the core dependencies (the library and the
examples alike) goes through :func:`require`, so the message is the same everywhere:
what needed it, the package, and ``pip install 'sgdsde[<extra>]'``.  A package that is
installed but fails to import for another reason (a broken CUDA toolkit, a missing
sub-dependency) re-raises its own error instead of advising an install that is already
there.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["EXTRAS", "MissingExtraError", "require"]

#: extra name -> the top-level packages it brings (pyproject.toml [project.optional-dependencies])
EXTRAS = {
    "gpu": ("cupy",),
    "gpu-cuda13": ("cupy",),
    "digits": ("sklearn",),
    "distributed": ("dask", "distributed"),
    "bench": ("torch", "torchsde", "fplanck"),
    "xarray": ("xarray", "h5netcdf", "h5py"),
    "jax": ("jax", "jaxlib"),
}


class MissingExtraError(ModuleNotFoundError):
    """An optional dependency is not installed; the message names the extra that brings it."""


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module``, or raise :class:`MissingExtraError` naming ``extra``.

    Parameters
    ----------
    module : str
        Dotted module name, e.g. ``"distributed"`` or ``"sklearn.datasets"``.
    extra : str
        The optional extra of sgdsde that installs it (a key of :data:`EXTRAS`).
    purpose : str
        What needs it, for the message (``"sgdsde.distributed.sweep"``, an example's name).
    """
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}: choose one of {', '.join(EXTRAS)}")
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        top = (err.name or "").split(".")[0]
        if top not in EXTRAS[extra] and top != module.split(".")[0]:
            raise  # a dependency of the package itself is missing: not the extra's fault
        raise MissingExtraError(
            f"{purpose} needs {module}, from the optional extra '{extra}': "
            f"pip install 'sgdsde[{extra}]'", name=err.name) from err

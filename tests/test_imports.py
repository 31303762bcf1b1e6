"""The package's layers: no import cycle, and no module importing a higher layer.

Every ``import`` statement of every module is read from its source (module-level and
function-level imports alike: a deferred import is still a dependency).  Modules are
grouped into *units* (``sgdsde.random``, ``sgdsde.landscapes``, ...) and the units into
layers, lowest first.  A unit may import its own or a lower layer's units, and the graph
of units must be acyclic.  A new module belongs to its package's unit; a new top-level
unit not listed here is taken to be built on the driver (layer 7) until it is listed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "sgdsde"

LAYERS = (
    # 0: leaves: numbers, paths, checks, the generator and its compiled twins, CUDA sources
    ("sgdsde._paths", "sgdsde._checks", "sgdsde._extras", "sgdsde._threads", "sgdsde.random",
     "sgdsde._random_numba",
     "sgdsde._fingerprint", "sgdsde._cuda"),
    # 1: geometry and closed forms
    ("sgdsde.manifolds", "sgdsde.theory", "sgdsde.plot"),
    # 2: what particles move on
    ("sgdsde.landscapes",),
    # 3: the dynamics and what a run returns
    ("sgdsde.sde", "sgdsde.results", "sgdsde.save", "sgdsde.divergence"),
    # 4: schemes, 5: where they run
    ("sgdsde.integrators",),
    ("sgdsde.backends",),
    # 6: the driver and its parts
    ("sgdsde.recorder", "sgdsde.sharding", "sgdsde.simulate"),
    # 7: what is built on the driver
    ("sgdsde.measure", "sgdsde.fokker_planck", "sgdsde.sgd", "sgdsde.distributed",
     "sgdsde.geometry", "sgdsde.labelled", "sgdsde.generalisation", "sgdsde.studies"),
    # 8: applications
    ("sgdsde.validate", "sgdsde.demo", "sgdsde.cli", "sgdsde.__main__", "sgdsde"),
)
LAYER = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}
DEFAULT_LAYER = 7  # an unlisted unit: built on the driver

# Deferred imports allowed to reach up, each for a stated reason (keep this short).
ALLOWED_UPWARD = {
    ("sgdsde.results", "sgdsde.labelled"): "Trajectory.to_xarray, a convenience method that "
                                           "defers to sgdsde.labelled inside the call",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _unit(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def _imports(path: Path) -> set[str]:
    """Absolute names of the sgdsde modules that ``path`` imports (any nesting level)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "sgdsde"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "sgdsde":
                continue
            for alias in node.names:  # "from x import y": y may be a module of package x
                candidate = f"{target}.{alias.name}"
                found.add(candidate if _exists(candidate) else target)
    return found


def _exists(module: str) -> bool:
    rel = Path(*module.split(".")[1:])
    return (ROOT / rel).with_suffix(".py").is_file() or (ROOT / rel / "__init__.py").is_file()


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in sorted(ROOT.rglob("*.py"))}


def _layer(unit: str) -> int:
    return LAYER.get(unit, DEFAULT_LAYER)


def test_no_module_imports_a_higher_layer():
    upward = []
    for module, targets in _graph().items():
        for target in targets:
            a, b = _unit(module), _unit(target)
            if (a, b) in ALLOWED_UPWARD:
                continue
            if _layer(b) > _layer(a):
                upward.append(f"{module} (layer {_layer(a)}) imports {target} (layer {_layer(b)})")
    assert not upward, "\n".join(sorted(upward))


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph ``edges``, or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in sorted(edges):
        if state.get(root):
            continue
        path, stack = [root], [iter(sorted(edges[root]))]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(edges.get(nxt, ()))))
    return None


def test_no_import_cycle_between_units():
    units: dict[str, set[str]] = {}
    for module, targets in _graph().items():
        a = _unit(module)
        units.setdefault(a, set()).update(
            _unit(t) for t in targets
            if _unit(t) not in (a, "sgdsde") and (a, _unit(t)) not in ALLOWED_UPWARD)
    cycle = _cycle(units)
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_cycles():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a"}}) is None


@pytest.mark.parametrize("module", ["sgdsde.integrators", "sgdsde.landscapes", "sgdsde.theory"])
def test_lower_layers_do_not_reach_the_backends(module):
    reached = {t for m, ts in _graph().items() if m.startswith(module) for t in ts}
    assert not any(t.startswith("sgdsde.backends") for t in reached), sorted(reached)

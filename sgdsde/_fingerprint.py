"""A fingerprint of an object's parameters: what a resumed run compares, not its ``repr``.

``fingerprint(sde)`` hashes (SHA-256) a canonical walk of the object: its type, and for
every attribute its value — NumPy arrays by dtype, shape and bytes (a strided sample of the
bytes beyond :data:`FULL_ARRAY` elements), numbers by their exact
``repr``, containers element by element, classes by qualified name (before any array test:
a class may carry ``__array__``, ``shape`` and ``dtype``), functions by qualified name and code
(nested code by content, never by its ``repr``, which holds a memory address), their defaults
and closure values and, for the user's own functions, the module-level values their code
reads (bound methods with the object they are bound to), other
objects by their type and attributes, recursively.  Attributes whose name contains
``cache`` are skipped (values filled lazily while a run goes on), an object met twice is
hashed once, and objects of installed third-party packages (a JAX function, ...) are
represented by their type only.  Two SDEs with the same fingerprint define the same dynamics; a
``Quadratic`` with another matrix, a temperature changed in the last digit or another
coupling sample all change it.
"""

from __future__ import annotations

import hashlib
import sys
import types

import numpy as np

__all__ = ["fingerprint", "global_names"]

_MAX_DEPTH = 12
FULL_ARRAY = 1 << 22
"""Arrays up to this many elements are hashed whole; larger ones (p-spin couplings of a
large model: 1.4 GB at N = 1024, p = 3) by 2**20 evenly strided elements, so that a run
does not spend seconds hashing, or copying device couplings to the host."""


def _sample(a):
    flat = a.reshape(-1)
    if flat.size <= FULL_ARRAY:
        return flat
    return flat[:: flat.size // (1 << 20)]


def _top_module(cls) -> str:
    module = getattr(cls, "__module__", None)
    return module.split(".")[0] if isinstance(module, str) else ""


def _walkable(top: str) -> bool:
    """Walk sgdsde's objects and the user's own; not those of installed third-party packages
    (their internals are neither parameters nor stable across processes)."""
    if top in ("sgdsde", "__main__"):
        return True
    module = sys.modules.get(top)
    path = str(getattr(module, "__file__", "") or "")
    return module is not None and "-packages" not in path and not path.startswith(sys.base_prefix)


def fingerprint(obj) -> str:
    """Hex SHA-256 of the parameters of ``obj`` (see the module docstring)."""
    digest = hashlib.sha256()
    _feed(digest, obj, 0, set())
    return digest.hexdigest()


def _feed(digest, obj, depth: int, seen: set) -> None:
    put = digest.update
    if depth > _MAX_DEPTH:
        put(b"<deep>")
        return
    if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes, np.generic)):
        put(f"{type(obj).__name__}:{obj!r};".encode())
        return
    if isinstance(obj, type):  # before the array tests: a class may carry __array__, shape, dtype
        put(f"type:{obj.__module__}.{obj.__qualname__};".encode())
        return
    if isinstance(obj, np.ndarray):
        put(f"ndarray:{obj.dtype.str}:{obj.shape};".encode())
        a = np.ascontiguousarray(_sample(obj))
        put(a.tobytes() if a.dtype != object else repr(a.tolist()).encode())
        return
    top = _top_module(type(obj))
    if top == "cupy" and hasattr(obj, "get"):  # a device array: sampled there, then copied
        put(f"device:{obj.dtype.str}:{obj.shape};".encode())
        _feed(digest, np.asarray(_sample(obj).get()), depth, seen)
        return
    if hasattr(type(obj), "__array__") and hasattr(obj, "shape") and hasattr(obj, "dtype"):
        _feed(digest, np.asarray(obj), depth, seen)  # other array types (JAX, ...)
        return
    if isinstance(obj, (list, tuple)):
        put(f"{type(obj).__name__}[{len(obj)}];".encode())
        for item in obj:
            _feed(digest, item, depth + 1, seen)
        return
    if isinstance(obj, (dict, types.MappingProxyType)):
        put(f"dict[{len(obj)}];".encode())
        for key in sorted(obj, key=repr):
            put(f"{key!r}=".encode())
            _feed(digest, obj[key], depth + 1, seen)
        return
    if isinstance(obj, (types.FunctionType, types.MethodType, types.BuiltinFunctionType)):
        put(f"fn:{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', repr(obj))};".encode())
        if isinstance(obj, types.MethodType):  # the object it is bound to holds its parameters
            put(b"self=")
            _feed(digest, obj.__self__, depth + 1, seen)
            obj = obj.__func__
        code = getattr(obj, "__code__", None)
        if code is not None:
            _feed_code(digest, code, 0)
        if isinstance(obj, types.FunctionType) and id(obj) not in seen:
            seen.add(id(obj))
            _feed_function_values(digest, obj, depth, seen)
        return
    if id(obj) in seen:
        put(b"<seen>")
        return
    if not _walkable(top):  # another library's object: its type, not its internals
        put(f"foreign:{top}.{getattr(type(obj), '__qualname__', '?')};".encode())
        return
    seen.add(id(obj))
    put(f"obj:{type(obj).__module__}.{type(obj).__qualname__};".encode())
    attrs = dict(getattr(obj, "__dict__", {}))
    for slot in getattr(type(obj), "__slots__", ()):
        if hasattr(obj, slot):
            attrs[slot] = getattr(obj, slot)
    for name in sorted(attrs):
        if "cache" in name:
            continue
        put(f".{name}=".encode())
        _feed(digest, attrs[name], depth + 1, seen)


def _feed_code(digest, code: types.CodeType, depth: int) -> None:
    """Bytecode, names and constants of ``code``, nested code objects by their content (the
    ``repr`` of a code object holds its memory address: it differs from process to process)."""
    digest.update(code.co_code)
    digest.update(repr(code.co_names).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            digest.update(b"code{")
            if depth < _MAX_DEPTH:
                _feed_code(digest, const, depth + 1)
            digest.update(b"}")
        else:
            digest.update(f"{type(const).__name__}:{const!r};".encode())


def _feed_function_values(digest, fn: types.FunctionType, depth: int, seen: set) -> None:
    """The values a function's result depends on beyond its code: its defaults, the variables
    it closes over and, for the user's own functions (not sgdsde's), the module-level values
    its code reads (modules themselves are skipped).  Third-party functions: code only."""
    top = (getattr(fn, "__module__", None) or "").split(".")[0]
    if not _walkable(top):
        return
    put = digest.update
    put(b"defaults=")
    _feed(digest, fn.__defaults__, depth + 1, seen)
    put(b"kwdefaults=")
    _feed(digest, fn.__kwdefaults__, depth + 1, seen)
    put(b"closure=")
    cells = []
    for cell in fn.__closure__ or ():
        try:
            cells.append(cell.cell_contents)
        except ValueError:  # an empty cell
            cells.append(None)
    _feed(digest, cells, depth + 1, seen)
    if top == "sgdsde":
        return
    names = sorted(global_names(fn.__code__))
    namespace = fn.__globals__
    for name in names:
        if name in namespace and not isinstance(namespace[name], types.ModuleType):
            put(f"global {name}=".encode())
            _feed(digest, namespace[name], depth + 1, seen)


def global_names(code: types.CodeType, depth: int = 0) -> set:
    """The names a code object (and the code nested in it) may read from its module."""
    names = set(code.co_names)
    if depth < _MAX_DEPTH:
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                names |= global_names(const, depth + 1)
    return names

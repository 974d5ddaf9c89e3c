"""Array backends: the one place where NumPy, CuPy and strict array-API namespaces are chosen."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from descriptor_pipeline.errors import PipelineError


def cupy_usable() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # ImportError, CUDARuntimeError, missing driver: all mean "no GPU here"
        return False


def resolve_backend(name: str) -> str:
    """Turn the ``backend`` config value (auto, numpy, cupy, array_api_strict) into a concrete name."""
    if name == "auto":
        return "cupy" if cupy_usable() else "numpy"
    if name == "cupy" and not cupy_usable():
        raise PipelineError(
            "config key 'backend': cupy was asked for but no usable CUDA device/CuPy was found; "
            "install the 'gpu' extra on a GPU node or set backend: numpy"
        )
    if name not in ("numpy", "cupy", "array_api_strict"):
        raise PipelineError(f"config key 'backend': unknown backend {name!r}; use auto, numpy or cupy")
    return name


def get_namespace(name: str) -> ModuleType:
    """The array namespace of a concrete backend name."""
    if name == "numpy":
        return np
    if name == "cupy":
        import cupy

        return cupy
    if name == "array_api_strict":
        import array_api_strict

        return array_api_strict
    raise PipelineError(f"config key 'backend': unknown backend {name!r}; use auto, numpy or cupy")


def to_numpy(x: Any) -> np.ndarray:
    """Copy an array of any supported backend to host NumPy."""
    if isinstance(x, np.ndarray):
        return x
    get = getattr(x, "get", None)
    if callable(get):  # CuPy
        return get()
    return np.from_dlpack(x)


def svdvals(xp: ModuleType, a: Any) -> Any:
    """Singular values of a stack of matrices (..., m, n), descending."""
    fn = getattr(xp.linalg, "svdvals", None)
    if fn is not None:
        return fn(a)
    return xp.linalg.svd(a, compute_uv=False)


def unpermute(xp: ModuleType, order: Any, values: Any) -> Any:
    """Return ``out`` with ``out[i, order[i, j]] = values[i, j]`` (undo a sort along the last axis).

    NumPy and CuPy scatter directly; other namespaces invert the permutation with a second argsort.
    """
    put = getattr(xp, "put_along_axis", None)
    if put is not None:
        out = xp.empty_like(values)
        put(out, order, values, axis=-1)
        return out
    inverse = xp.argsort(order, axis=-1)
    return xp.take_along_axis(values, inverse, axis=-1)

"""Building frozen, slotted dataclasses fast, for the per-item records of the scoring loop.

A frozen dataclass's generated ``__init__`` sets each field with ``object.__setattr__``, a
generic call, so an `ItemResult` (20 fields) takes 1.9 µs to build (2026-12-01, these
machines), about what scoring a short answer takes. A plain ``obj.field = value`` on a
slotted class is a specialized store: built this way, 0.3 µs.

`builder(cls)` returns ``build(*values)``, taking every field positionally in declaration
order. It fills an instance of a private twin of ``cls`` (the same ``__slots__``, no
``__setattr__`` of its own) with plain stores, then sets its ``__class__`` to ``cls``:
Python allows that between two classes whose instance layouts are the same, and the
result *is* an instance of ``cls`` like any other (frozen, same ``==``, hash, repr and
pickle). Defaults and ``__post_init__`` are not applied: callers pass every value and
keep to what ``__post_init__`` would check.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["builder"]

T = TypeVar("T")


def builder(cls: type[T]) -> Callable[..., T]:
    """A fast ``build(*values)`` for the frozen slotted dataclass ``cls`` (module docstring)."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    slots = getattr(cls, "__slots__", None)
    if tuple(names) != slots:
        raise TypeError(f"{cls.__name__}: a builder needs a slotted dataclass, fields in order")
    twin = type(f"_{cls.__name__}Fields", (), {"__slots__": slots})
    args = ", ".join(names)
    stores = "".join(f"    obj.{name} = {name}\n" for name in names)
    source = (
        f"def build({args}):\n"
        "    obj = new(twin)\n"
        f"{stores}"
        "    obj.__class__ = cls\n"
        "    return obj\n"
    )
    namespace: dict[str, Any] = {"new": object.__new__, "twin": twin, "cls": cls}
    exec(source, namespace)  # one positional parameter per field, as dataclasses does
    build: Callable[..., T] = namespace["build"]
    build.__qualname__ = f"builder({cls.__name__})"
    return build

"""Pausing the cyclic garbage collector while bulk data is built.

Reading 100k eval items or result lines allocates millions of containers that all stay
alive; each allocation burst triggers a collection that walks the ever-growing live heap
again (about 10% of the time of ``fanout score``). Nothing built there forms a reference
cycle that needs collecting in the meantime, so the collector is paused for the duration
and restored as it was (reference counting still frees everything else at once).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block; re-enable it after if it was on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()

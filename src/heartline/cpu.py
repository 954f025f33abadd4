"""How many CPU threads a live model should use."""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def auto_threads() -> int:
    """All cores, or one when other processes already keep the cores busy.

    Threads that wait for each other at every step (llama.cpp's decoding, multi-threaded BLAS
    on a turn's small matrices) are far slower than one thread on an oversubscribed machine
    (measured on 2 busy cores: 0.7 against 16 tokens/s for llama.cpp).
    """
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available on this platform
        return cores
    if load >= cores > 1:
        log.info("the machine is busy (load %.1f on %d cores): using 1 thread", load, cores)
        return 1
    return cores

"""What a sweeping process does once its start-up is over: garbage collection tuned for the sweep.

A sweep allocates millions of short-lived objects per million keys; reference counting frees them,
but CPython's cyclic collector also walks the young generation every 700 allocations, and each
full collection walks everything start-up built (modules, botocore's service models). Measured in
issue 18, this cost 11-19 % of a sweep's CPU. So, once, after start-up: `gc.freeze()` moves what
exists into the permanent generation (never scanned again), and the young generation may grow to
`YOUNG_GENERATION` objects before it is collected. The collector stays on: cycles are still freed.
docs/BENCHMARKS.md ("Garbage collection after start-up") has the measurement that keeps this.
"""

from __future__ import annotations

import functools
import gc

YOUNG_GENERATION = 50_000  # CPython's default is 700


@functools.cache
def settle_after_startup() -> None:
    """Once per process: a forked worker inherits its parent's frozen objects and thresholds."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION, middle, old)

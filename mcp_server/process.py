"""Settings of the daemon's own process that a busy proxy needs: enough open files, and a
garbage collector that does not grow costlier per request as more requests are in flight."""

from __future__ import annotations

import gc
import logging

log = logging.getLogger("brainrouter")

# CPython's default (700, 10, 10) collects the young generation every 700 new container
# objects: a proxied request makes a few thousand, so collections run inside requests, and
# what those requests hold survives into the old generations. The more requests in flight,
# the more survives and the more often the full collection walks the whole heap (the
# daemon's ~400k objects from its imports): measured on 2 cores, gateway CPU per request
# rose from 0.6 ms at concurrency 16 to 1.0 ms at 256, a third of it in the collector. A
# young generation of 50,000 lets most requests finish between collections; it holds a few
# MB of cyclic garbage at most (everything else is freed by reference counting at once).
GC_THRESHOLDS = (50_000, 20, 20)


def tune_gc() -> None:
    """Call once the app is built: what exists then (imported modules, the app) lives as
    long as the process, so it moves out of the collector's sight (`gc.freeze`), and full
    collections walk only what requests made."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    log.debug("gc: %d objects frozen, thresholds %s", gc.get_freeze_count(), GC_THRESHOLDS)


def raise_open_files_limit() -> None:
    """Every proxied request holds two sockets: lift the soft limit on open files to the hard
    one (1024 by default under systemd and most shells, far below what a busy proxy needs)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 1 << 20)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            log.info("open files limit raised from %d to %d", soft, hard)
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open files limit from %d: %s", soft, exc)

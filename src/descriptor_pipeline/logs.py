"""Logging set-up for stage scripts and a progress reporter for long loops."""

from __future__ import annotations

import logging
import sys
import time

LOG = logging.getLogger("descriptor_pipeline")
# A stage's warnings also go to its stderr with this prefix, so the command line can show them (the rest
# of the stage's log stays in logs/<rule>.log).
WARNING_PREFIX = "descriptor-pipeline warning: "


def setup_logging(log_file: str | None = None, level: int = logging.INFO) -> None:
    """Send the package's log records to ``log_file`` (and stderr when no file is given); with a file,
    warnings go to stderr too, prefixed with :data:`WARNING_PREFIX`."""
    handler: logging.Handler = logging.FileHandler(log_file, mode="w", encoding="utf-8") if log_file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    LOG.handlers[:] = [handler]
    if log_file:
        warnings = logging.StreamHandler(sys.stderr)
        warnings.setLevel(logging.WARNING)
        warnings.addFilter(lambda record: record.levelno == logging.WARNING)  # errors have their own line
        warnings.setFormatter(logging.Formatter(WARNING_PREFIX + "%(message)s"))
        LOG.handlers.append(warnings)
    LOG.setLevel(level)
    LOG.propagate = False


class Progress:
    """Log ``done / total`` with rate and time left, at most every ``every`` seconds."""

    def __init__(self, what: str, total: int, unit: str, every: float = 10.0) -> None:
        self.what, self.total, self.unit, self.every = what, max(int(total), 0), unit, every
        self.start = self.last = time.perf_counter()
        self.done = 0
        self.logged = -1  # the count last logged

    def update(self, n: int) -> None:
        """Count ``n`` more units done; log when ``every`` seconds have passed."""
        self.done += n
        now = time.perf_counter()
        if now - self.last >= self.every:
            self.last = now
            self._log(now)

    def finish(self) -> float:
        """Log the final count (unless the last update just did); return the elapsed seconds."""
        now = time.perf_counter()
        if self.done != self.logged:
            self._log(now)
        return now - self.start

    def _log(self, now: float) -> None:
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 and self.total > self.done else 0.0
        pct = 100.0 * self.done / self.total if self.total else 100.0
        self.logged = self.done
        LOG.info(
            "%s: %d/%d %s (%.1f%%), %.0f %s/s, %.0f s elapsed, about %.0f s left",
            self.what, self.done, self.total, self.unit, pct, rate, self.unit, elapsed, left,
        )


def peak_rss_mib() -> float:
    """This process's own peak resident memory in MiB: VmHWM where /proc has it (Linux), else ru_maxrss.

    ru_maxrss is not enough on Linux: a child process inherits the RSS its parent had when it forked
    (the high-water mark survives exec), so a job started by a large parent would report the parent's.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource  # not on Windows; only reached where /proc is missing

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024

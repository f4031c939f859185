"""One BLAS thread policy for every hot path.

Every hot path of the toolkit -- the checks' engine passes (``lemmas/descent.py``,
``lemmas/concentration.py``, ``lemmas/angle.py``), inversion
(:func:`verify.inversion.invert` and the chunked path), training, and the bench cases --
runs its products inside :func:`blas_threads`, so the number of BLAS threads they use
is decided in one place:

1. an explicit ``blas_threads(n)`` (used by ``verify bench`` to time a hot path at one
   thread and at all cores); inside it, hot paths that ask for the policy get ``n``;
2. otherwise the environment variable :data:`ENV_VAR` (``VERIFY_BLAS_THREADS``), a
   positive integer or ``all`` (every core ``os.cpu_count()`` reports); the
   ``--threads N`` flag of the commands that run hot paths sets it, so worker
   processes started afterwards inherit it;
3. otherwise :data:`DEFAULT_THREADS`.

The default, 1 thread, is chosen by measurement: ``verify bench`` has a "BLAS threads"
case per hot path that times it at one thread and at all cores, alternating the two.
Ratio = time at 1 thread / time at all cores (> 1: all cores faster), 2-core machine
shared with other jobs, 1 Dec 2026::

                                                   loaded (--quick)   light load   idle
    engine pass of the checks (descent, quick)          0.51            1.13       1.29
    general-path inversion (DCGAN-like 32^2, f32)       0.42            1.39       1.47
    arc-table inversion (paper-fig4)                    1.16            1.06       0.84

All cores gain at most 1.5x on an idle machine and lose up to 2.4x when other processes
compete for the cores -- which is the normal case here: ``verify report`` and sweeps
run one worker per core (:func:`verify.runner.default_workers`), where every BLAS thread
beyond one oversubscribes. So the default is 1; a user inverting alone on an idle
machine gains with ``--threads all``. The bench's rows flag this (target: the policy
within 10 % of the faster choice), so a machine where the default is wrong shows it.

The limits are set with ``threadpoolctl`` on entry and the previous limits restored on
exit; without ``threadpoolctl`` the context manager does nothing. Thread counts never
change results beyond the rounding of a BLAS kernel's summation order.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

ENV_VAR = "VERIFY_BLAS_THREADS"
DEFAULT_THREADS = 1

# innermost explicit blas_threads(n): what hot paths asking for the policy get
_ACTIVE: list[int] = []


def all_cores() -> int:
    """The number of cores ``os.cpu_count()`` reports (at least 1)."""
    return max(1, int(os.cpu_count() or 1))


#: Largest thread count accepted (``--threads``, :data:`ENV_VAR`): threads do not add
#: work, but a BLAS library allocates per thread and caps the count far lower; a larger
#: value is refused as a typo rather than passed on.
MAX_THREADS = 1024


def parse_threads(text) -> int:
    """A thread count from user text: an integer from 1 to :data:`MAX_THREADS` or
    ``all``.

    Raises ``ValueError`` (with the reason) on anything else."""
    allowed = f"an integer from 1 to {MAX_THREADS} or 'all'"
    if isinstance(text, bool):
        raise ValueError(f"expected {allowed}, got {text!r}")
    s = str(text).strip().lower()
    if s == "all":
        return min(all_cores(), MAX_THREADS)
    try:
        n = int(s)
    except ValueError:
        raise ValueError(f"expected {allowed}, got {text!r}") from None
    if not 1 <= n <= MAX_THREADS:
        raise ValueError(f"expected {allowed}, got {text!r}")
    return n


def policy_threads() -> int:
    """The thread count in force for a hot path that asks for the policy (module
    docstring: innermost explicit :func:`blas_threads`, then :data:`ENV_VAR`, then
    :data:`DEFAULT_THREADS`). A malformed environment value raises
    :class:`~verify.errors.VerifyError` naming :data:`ENV_VAR` (exit 2 from the CLI)."""
    if _ACTIVE:
        return _ACTIVE[-1]
    raw = os.environ.get(ENV_VAR)
    if raw is not None and raw.strip() != "":
        try:
            return parse_threads(raw)
        except ValueError as exc:
            from .errors import VerifyError

            raise VerifyError(f"{ENV_VAR}: {exc}") from None
    return DEFAULT_THREADS


def policy_source() -> str:
    """Where :func:`policy_threads` takes its value from: ``"explicit"``, ``"env"`` or
    ``"default"``."""
    if _ACTIVE:
        return "explicit"
    raw = os.environ.get(ENV_VAR)
    return "env" if raw is not None and raw.strip() != "" else "default"


def describe_policy() -> str:
    """One line for reports: the thread count in force and where it comes from."""
    n, src = policy_threads(), policy_source()
    where = {"explicit": "set by the caller",
             "env": f"{ENV_VAR}={os.environ.get(ENV_VAR)!s} (or --threads)",
             "default": f"default; override with --threads N or {ENV_VAR}"}[src]
    return f"BLAS threads: {n} of {all_cores()} cores ({where})"


def set_threads(n: int) -> None:
    """Make ``n`` the policy for this process and the processes it starts afterwards
    (sets :data:`ENV_VAR`; what ``--threads N`` does)."""
    n = parse_threads(n)
    os.environ[ENV_VAR] = str(n)


def current_blas_threads() -> int | None:
    """The BLAS libraries' current thread limit (the smallest over loaded BLAS
    libraries), or None without ``threadpoolctl`` or a BLAS it can see."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return None
    counts = [d["num_threads"] for d in threadpool_info() if d.get("user_api") == "blas"]
    return min(counts) if counts else None


@contextlib.contextmanager
def blas_threads(threads: int | None = None) -> Iterator[int]:
    """Run the block with BLAS limited to ``threads`` (None: :func:`policy_threads`).

    Yields the thread count applied. Inside the block, nested ``blas_threads()`` calls
    (None) get the same count, so a caller can time a hot path at a chosen count.
    The previous limits are restored on exit, also when the block raises."""
    n = policy_threads() if threads is None else parse_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        limiter = contextlib.nullcontext()
    else:
        limiter = threadpool_limits(limits=n, user_api="blas")
    _ACTIVE.append(n)
    try:
        with limiter:
            yield n
    finally:
        _ACTIVE.pop()


__all__ = ["ENV_VAR", "DEFAULT_THREADS", "all_cores", "parse_threads", "policy_threads",
           "policy_source", "describe_policy", "set_threads", "current_blas_threads",
           "blas_threads"]

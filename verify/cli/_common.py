"""Shared argument helpers of the command modules."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .. import budget
from ..errors import VerifyError


def int_at_least(minimum: int):
    """An argparse type: an integer >= ``minimum``, with the allowed range in its error."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value
    return parse


seed_type = int_at_least(0)
positive_int = int_at_least(1)


def stream_seed(text: str):
    """``--seed`` of the commands that replay a sweep task: an integer ``N``, or a task's
    streams as its record prints them, ``N/3.i`` (:class:`verify.rng.Streams`)."""
    from ..rng import Streams

    base, sep, key = text.partition("/")
    if not sep:
        return seed_type(text)
    try:
        # every component is an integer >= 0 (a SeedSequence spawn key is unsigned)
        return Streams(seed_type(base), tuple(seed_type(k) for k in key.split(".")))
    except (ValueError, argparse.ArgumentTypeError, VerifyError):
        raise argparse.ArgumentTypeError(
            f"expected an integer >= 0 or a task's streams such as 0/3.17 (every component "
            f"an integer >= 0), got {text!r}") from None


def add_seed(parser: argparse.ArgumentParser, default: int = 0, *, streams: bool = False) -> None:
    """``--seed``; with ``streams=True`` it also takes a sweep task's ``N/3.i``."""
    parser.add_argument("--seed", type=stream_seed if streams else seed_type, default=default,
                        help=f"random seed, stored in every result (default {default})"
                        + ("; or a sweep task's streams as its record shows them (0/3.17)"
                           if streams else ""))


def draws_arg(text: str) -> int:
    """``--draws N``: an integer >= 1 (:func:`verify.verdicts.draws_count`)."""
    from ..verdicts import draws_count

    try:
        return draws_count(text)
    except VerifyError as exc:
        raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[-1]) from None


def add_draws(parser: argparse.ArgumentParser) -> None:
    """``--draws N``: network draws a probabilistic statement is judged over."""
    parser.add_argument(
        "--draws", type=draws_arg, default=None, metavar="N",
        help="independent network draws a 'with high probability' statement is judged "
             "over (failure rate with its exact interval against the lemma's tolerance); "
             "default: the lemma's own (enough to decide), 1: the seed's network alone, "
             "labelled as a single draw. Exact statements and fixed weights ignore it")


def _size(text: str) -> int:
    try:
        return budget.parse_size(text)
    except VerifyError as exc:
        raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[-1]) from None


def _duration(text: str) -> float:
    from .. import work

    try:
        return work.parse_duration(text)
    except VerifyError as exc:
        raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[-1]) from None


def add_max_time(parser: argparse.ArgumentParser) -> None:
    """``--max-time DURATION``: the budget every work estimate is checked against before
    the work starts (:mod:`verify.work`); applied by :func:`verify.cli.main`."""
    from .. import work

    parser.add_argument("--max-time", metavar="DURATION", type=_duration, default=None,
                        help="refuse, before it starts, work whose estimated time on the "
                             "reference machine exceeds DURATION (90s, 30m, 12h, 2d or "
                             f"seconds; default {work.human_time(work.DEFAULT_MAX_TIME)}; "
                             "the model is in verify/work.py)")


def int_in_range(minimum: int, maximum: int):
    """An argparse type: an integer in [minimum, maximum], the range in its error."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer from {minimum} to {maximum:,}, got {text!r}") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(
                f"expected an integer from {minimum} to {maximum:,}, got {value}")
        return value
    return parse


def workers_arg(text: str) -> int:
    """``--jobs N`` / ``--workers N``: local processes, 1 to
    :data:`verify.runner.MAX_WORKERS`."""
    from ..runner import MAX_WORKERS

    return int_in_range(1, MAX_WORKERS)(text)


def add_max_memory(parser: argparse.ArgumentParser) -> None:
    """``--max-memory SIZE``: the memory budget every estimate is checked against
    (:mod:`verify.budget`); applied by :func:`verify.cli.main` before the command runs."""
    parser.add_argument("--max-memory", metavar="SIZE", type=_size, default=None,
                        help="refuse work whose estimated memory exceeds SIZE (4G, 512M, "
                             "bytes; default half of this machine's RAM)")


def threads_arg(text: str) -> int:
    """``--threads N``: a positive integer or ``all`` (:func:`verify.threads.parse_threads`)."""
    from ..threads import parse_threads

    try:
        return parse_threads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_threads(parser: argparse.ArgumentParser) -> None:
    """``--threads N``: BLAS threads for the command's hot paths (:mod:`verify.threads`);
    the command applies it with :func:`apply_threads` before any work."""
    parser.add_argument("--threads", metavar="N", type=threads_arg, default=None,
                        help="BLAS threads for the hot paths: a positive integer or 'all' "
                             "(default: $VERIFY_BLAS_THREADS, else 1, chosen by measurement "
                             "in verify bench)")


def apply_threads(args) -> int:
    """Make ``--threads`` the process's BLAS thread policy (inherited by workers it
    starts), and check a ``VERIFY_BLAS_THREADS`` from the environment (exit 2 naming it
    when malformed). Returns the thread count in force."""
    from ..threads import policy_threads, set_threads

    if getattr(args, "threads", None) is not None:
        set_threads(args.threads)
    return policy_threads()


def one_line_errors(parser: argparse.ArgumentParser) -> None:
    """Make the parser's own errors (a bad flag value, a missing argument) one line on
    stderr and exit 2, as verify/cli/README.md asks, instead of argparse's usage block plus
    error."""
    def error(message: str):
        print(f"{parser.prog}: error: {message} (`{parser.prog} --help` lists the options)",
              file=sys.stderr)
        raise SystemExit(2)
    parser.error = error


def check_out_file(path: str | Path, flag: str, suffixes: tuple[str, ...] = ()) -> Path:
    """Refuse (VerifyError, exit 2) an output file that could not be written, before any
    work: a wrong suffix, an existing folder at the path, a parent that cannot be a
    writable folder (under a regular file, under ``/proc``, no permission)."""
    from ..fsio import check_writable_dir

    path = Path(path)
    if suffixes and path.suffix.lower() not in suffixes:
        raise VerifyError(f"{flag}: expected a file name ending in {' or '.join(suffixes)}, "
                          f"got {str(path)!r}")
    if path.is_dir():
        raise VerifyError(f"{flag}: {str(path)!r} is a folder; expected a file name")
    check_writable_dir(path.parent, flag)
    return path


def write_out_file(path: Path, data: str | bytes, flag: str) -> None:
    """Write an output file atomically (:mod:`verify.fsio`), creating its folder."""
    from ..fsio import write_bytes, write_text

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        (write_text if isinstance(data, str) else write_bytes)(path, data)
    except OSError as exc:
        raise VerifyError(f"{flag} {str(path)!r}: cannot be written "
                          f"({exc.strerror or exc})") from None


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def print_json(obj) -> None:
    from ..results import jsonable  # pandas only when printing JSON

    json.dump(jsonable(obj), sys.stdout, indent=1, allow_nan=False)
    sys.stdout.write("\n")


# ------------------------------------------------------------ a user's own network
def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        shape = ()
    if not 1 <= len(shape) <= 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected C, C,L or C,H,W (positive integers), "
                                         f"got {text!r}")
    return shape


def _condition(text: str) -> tuple[int, int]:
    k, sep, y = text.partition(":")
    try:
        k_, y_ = int(k), int(y)
    except ValueError:
        k_ = y_ = -1
    if not sep or k_ < 1 or not 0 <= y_ < k_:
        raise argparse.ArgumentTypeError(f"expected K:Y (K one-hot class channels, class Y "
                                         f"in 0..K-1), got {text!r}")
    return k_, y_


def add_user_network(parser: argparse.ArgumentParser, *, config: bool = True,
                     weights: bool = True) -> None:
    """A user's network instead of a preset (:mod:`verify.report.user`): ``--config``
    (a family of random networks; skipped when the command has its own), ``--weights
    FILE [--arch FILE.toml]`` and ``--torch FILE.py:OBJECT`` (one fixed network), with
    ``--latent-shape`` and ``--condition`` for a PyTorch module."""
    if config:
        parser.add_argument("--config", metavar="FILE.toml", default=None,
                            help="a configuration file: an architecture with a weight law, "
                                 "judged over network draws as a preset is")
    if weights:
        parser.add_argument("--weights", metavar="FILE", default=None,
                            help="one fixed network: a .npz from verify, or a .safetensors "
                                 "file (with the toolkit's metadata, or give --arch)")
        parser.add_argument("--arch", metavar="FILE.toml", default=None,
                            help="the architecture ([network] table) of --weights; needed "
                                 "for a file that does not carry its own")
    parser.add_argument("--torch", metavar="FILE.py:OBJECT", default=None,
                        help="one fixed network from PyTorch: a module (or a function "
                             "returning one) in a Python file, or a TorchScript file; "
                             "needs the [torch] extra. Pickled checkpoints are refused")
    parser.add_argument("--latent-shape", metavar="C[,H,W]", type=_shape, default=None,
                        help="--torch: the module's input shape without the batch axis "
                             "(default: the first layer's input channels at one position)")
    parser.add_argument("--condition", metavar="K:Y", type=_condition, default=None,
                        help="a conditional generator: the last K input channels are a "
                             "one-hot class, fixed to class Y")


def user_network(args, *, preset_flag: bool = True):
    """The user's network the flags name (:class:`verify.report.user.UserNetwork`), or
    None; at most one of ``--preset``, ``--config``, ``--weights``, ``--torch``;
    ``--arch`` only with ``--weights``; ``--latent-shape`` only with ``--torch``."""
    given = [f for f, v in (("--preset", getattr(args, "preset", None) if preset_flag
                             else None),
                            ("--config", getattr(args, "config", None)),
                            ("--weights", getattr(args, "weights", None)),
                            ("--torch", getattr(args, "torch", None))) if v is not None]
    if len(given) > 1:
        raise VerifyError(f"{given[1]}: expected one of --preset, --config, --weights, "
                          f"--torch, got {' and '.join(given)}")
    if getattr(args, "arch", None) is not None and getattr(args, "weights", None) is None:
        raise VerifyError("--arch: the architecture of --weights FILE; give --weights too")
    if args.latent_shape is not None and args.torch is None:
        raise VerifyError("--latent-shape: the input shape of --torch's module; give --torch")
    if not given or given == ["--preset"]:
        if args.condition is not None:
            raise VerifyError("--condition: only for --torch, or a --weights file with a "
                              "class input (metadata verify.condition)")
        return None
    from ..report import user

    if getattr(args, "weights", None) is not None:
        out = user.from_weights(args.weights, args.arch,
                                None if args.condition is None else args.condition[1])
    elif args.torch is not None:
        out = user.from_torch(args.torch, args.latent_shape, args.condition)
    else:
        out = user.from_config(args.config)
    if args.condition is not None and args.torch is None and "class" not in out.record:
        raise VerifyError("--condition: only for --torch, or a --weights file with a class "
                          "input (metadata verify.condition)")
    out.record["judged"] = user.FIXED_NOTE if out.fixed else (
        "a family of random networks, judged over network draws as a preset is")
    return out


def user_network_argv(args) -> list[str]:
    """The user-network flags as given, for a command line recorded in provenance."""
    out = []
    for flag in ("config", "weights", "arch", "torch"):
        if getattr(args, flag, None) is not None:
            out += [f"--{flag}", str(getattr(args, flag))]
    if getattr(args, "latent_shape", None) is not None:
        out += ["--latent-shape", ",".join(map(str, args.latent_shape))]
    if getattr(args, "condition", None) is not None:
        out += ["--condition", f"{args.condition[0]}:{args.condition[1]}"]
    return out


# ------------------------------------------------------------ the result cache
def add_cache(parser: argparse.ArgumentParser) -> None:
    """``--cache DIR`` / ``--no-cache``: the result cache (:mod:`verify.cache`)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--cache", metavar="DIR", default=None,
                       help="the result cache folder (default: $VERIFY_CACHE_DIR, else "
                            "$XDG_CACHE_HOME/verify, else ~/.cache/verify); results whose "
                            "code, configuration, seed and libraries are unchanged are "
                            "reused. On Dask: a folder the workers share")
    group.add_argument("--no-cache", action="store_true",
                       help="compute everything, read and write no cache")


def cache_from_args(args):
    """The :class:`verify.cache.Cache` of ``--cache`` / ``--no-cache`` (None: off); an
    explicit ``--cache`` that cannot be written is bad input (exit 2) before any work."""
    from ..cache import Cache, resolve
    from ..fsio import check_writable_dir

    if getattr(args, "no_cache", False):
        return None
    if getattr(args, "cache", None):
        return Cache(check_writable_dir(args.cache, "--cache"))
    return resolve(True)


def cache_flags(args) -> list[str]:
    """The cache flags as given, for a recorded command line."""
    if getattr(args, "no_cache", False):
        return ["--no-cache"]
    return ["--cache", args.cache] if getattr(args, "cache", None) else []


def add_scheduler(parser: argparse.ArgumentParser, what: str) -> None:
    """``--scheduler ADDRESS``: run ``what`` on Dask (:func:`verify.runner.connect`)."""
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help=f"run {what} on a Dask cluster: a scheduler address, or "
                             "'local' for a local cluster; same results")


def scheduler_from_args(args, workers_flag: str | None = "--jobs"):
    """``--scheduler`` checked: a local process count (``workers_flag``, if the command
    has one) goes only with ``local`` (it sizes the local cluster)."""
    scheduler = getattr(args, "scheduler", None)
    if scheduler is None:
        return None
    if not scheduler.strip():
        raise VerifyError("--scheduler: expected a scheduler address or 'local', got ''")
    workers = (None if workers_flag is None
               else getattr(args, workers_flag.lstrip("-").replace("-", "_"), None))
    if workers is not None and scheduler != "local":
        raise VerifyError(f"{workers_flag}: not together with a remote --scheduler "
                          f"(it sizes a local cluster), got {workers}")
    return scheduler

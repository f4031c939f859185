"""Per-check settings: the ``[checks.<lemma>]`` tables of a configuration file.

A check declares the parameters a user may set when it registers
(``register(..., settings={name: Setting, ...})``, :mod:`verify.registry`); a config
file sets them in a table named after the lemma::

    [checks.partial]
    adversarial_budget = 20      # greedy rounds of the adversarial mask search

    [checks.landscape]
    window_radii = [0.5, 1.0, 2.0]

The registry validates every table against the declarations before a check runs
(:func:`resolve`): an unknown lemma, an unknown key or a bad value is a
:class:`~verify.errors.VerifyError` naming the full field path
(``checks.partial.adversarial_budget``), the CLI's exit 2. The check receives the
resolved values, defaults filled in, as its ``settings=`` keyword, and the result's
``config`` JSON lists them under ``settings``. ``verify list`` and ``verify check LEMMA
--help`` list each check's settings (:func:`describe`).

The constructors (:func:`integer`, :func:`number`, :func:`numbers`, :func:`names`) build
the common kinds; a :class:`Setting` takes any ``parse(value) -> value`` that raises
``ValueError`` on a bad value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from .errors import VerifyError, invalid


@dataclass(frozen=True)
class Setting:
    """One parameter of a check that a config file may set.

    Parameters
    ----------
    default : the value when the config sets none (already valid: checked at
        registration).
    description : str
        What it changes, in one line (``verify list``, ``--help``).
    expected : str
        The allowed values in words, for the error message ("an integer >= 1").
    parse : callable
        ``parse(value) -> value``: the normalised value (e.g. a tuple of floats), or
        ``ValueError`` when ``value`` is not allowed.
    """

    default: Any
    description: str
    expected: str
    parse: Callable[[Any], Any]


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(float(x))


def integer(default: int, description: str, *, minimum: int | None = None,
            maximum: int | None = None) -> Setting:
    """An integer in [minimum, maximum] (either end open when None)."""
    rng = (f" >= {minimum}" if maximum is None else f" in [{minimum}, {maximum}]") \
        if minimum is not None else (f" <= {maximum}" if maximum is not None else "")

    def parse(x):
        if isinstance(x, bool) or not isinstance(x, int):
            raise ValueError
        if (minimum is not None and x < minimum) or (maximum is not None and x > maximum):
            raise ValueError
        return int(x)
    return Setting(default, description, f"an integer{rng}", parse)


def number(default: float, description: str, *, above: float | None = None,
           at_most: float | None = None) -> Setting:
    """A finite number > ``above`` and <= ``at_most`` (either end open when None)."""
    words = " and ".join(w for w in (f"> {above:g}" if above is not None else "",
                                     f"<= {at_most:g}" if at_most is not None else "") if w)
    expected = f"a finite number{' ' + words if words else ''}"

    def parse(x):
        if not _is_number(x):
            raise ValueError
        if (above is not None and not x > above) or (at_most is not None and x > at_most):
            raise ValueError
        return float(x)
    return Setting(default, description, expected, parse)


def numbers(default: Sequence[float], description: str, *, above: float | None = None,
            unit: str = "") -> Setting:
    """A non-empty list of distinct finite numbers, each > ``above``; kept in the given
    order, as a tuple of floats."""
    expected = (f"a non-empty list of distinct finite numbers"
                f"{f' > {above:g}' if above is not None else ''}{' ' + unit if unit else ''}")

    def parse(x):
        if isinstance(x, (str, bytes, Mapping)) or not isinstance(x, Sequence) or not x:
            raise ValueError
        out = []
        for v in x:
            if not _is_number(v):
                raise ValueError(f"{v!r} is not a finite number")
            if above is not None and not v > above:
                raise ValueError(f"{v!r} is not > {above:g}")
            out.append(float(v))
        if len(set(out)) != len(out):
            raise ValueError("a value is repeated")
        return tuple(out)
    return Setting(tuple(default), description, expected, parse)


def names(default: Sequence[str], description: str, allowed: Sequence[str], *,
          check: Callable[[tuple[str, ...]], bool] | None = None,
          condition: str = "") -> Setting:
    """A non-empty list of distinct names from ``allowed``; ``check(names)`` an extra
    condition on the whole list, said in words by ``condition``."""
    expected = ("a non-empty list of distinct names from " + ", ".join(allowed)
                + (f" ({condition})" if condition else ""))

    def parse(x):
        if isinstance(x, (str, bytes, Mapping)) or not isinstance(x, Sequence) or not x:
            raise ValueError
        unknown = [v for v in x if not (isinstance(v, str) and v in allowed)]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not one of them")
        if len(set(x)) != len(x):
            raise ValueError("a name is repeated")
        out = tuple(x)
        if check is not None and not check(out):
            raise ValueError
        return out
    return Setting(tuple(default), description, expected, parse)


def validate_declared(lemma: str, declared: Mapping[str, Setting]) -> dict[str, Setting]:
    """A check's declarations, at registration: names are identifiers, values
    :class:`Setting` whose default is itself valid (else VerifyError)."""
    if not isinstance(declared, Mapping):
        raise invalid(f"{lemma}: settings", "a dict name -> verify.settings.Setting", declared)
    out = {}
    for name, s in declared.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise invalid(f"{lemma}: settings", "names that are identifiers", name)
        if not isinstance(s, Setting):
            raise invalid(f"{lemma}: settings[{name!r}]", "a verify.settings.Setting", s)
        try:
            s.parse(s.default)
        except (ValueError, TypeError):
            raise invalid(f"{lemma}: settings[{name!r}].default", s.expected,
                          s.default) from None
        out[name] = s
    return out


def resolve(lemma: str, declared: Mapping[str, Setting],
            table: Mapping[str, Any] | None) -> dict[str, Any]:
    """The values of ``lemma``'s settings: ``table`` (a config's ``[checks.<lemma>]``,
    or None) validated against ``declared``, defaults filled in. VerifyError names the
    field path ``checks.<lemma>.<key>`` of an unknown key or a bad value."""
    table = {} if table is None else table
    path = f"checks.{lemma}"
    for key in table:
        if key not in declared:
            allowed = ("one of " + ", ".join(declared)) if declared else \
                f"no key (check {lemma!r} declares no settings)"
            raise invalid(f"{path}.{key}", allowed, "unknown key")
    out = {}
    for name, s in declared.items():
        if name not in table:
            out[name] = s.parse(s.default)
            continue
        try:
            out[name] = s.parse(table[name])
        except (ValueError, TypeError) as exc:
            err = invalid(f"{path}.{name}", s.expected, table[name])
            detail = str(exc) if isinstance(exc, ValueError) and exc.args else ""
            raise (VerifyError(f"{err} ({detail})") if detail else err) from None
    return out


def values(declared: Mapping[str, Setting], given: Mapping[str, Any] | None = None
           ) -> dict[str, Any]:
    """The values a check works with: ``given`` (the registry's ``settings=``, already
    resolved) or, when the check is called directly without it, the defaults."""
    return dict(given) if given is not None else resolve("?", declared, None)


def check_tables(checks: Any) -> dict[str, dict[str, Any]]:
    """The structure of a config's ``checks`` value (before any lemma is known): a table
    of tables keyed by lemma id. Returns plain dicts; VerifyError names the field."""
    if not isinstance(checks, Mapping):
        raise invalid("checks", "a table of [checks.<lemma>] tables", checks)
    out = {}
    for lemma, table in checks.items():
        if not isinstance(table, Mapping):
            raise invalid(f"checks.{lemma}", "a table of settings (key = value)", table)
        out[str(lemma)] = dict(table)
    return out


def describe(lemma: str, declared: Mapping[str, Setting]) -> list[str]:
    """Lines listing ``lemma``'s settings for ``verify list`` and ``--help``."""
    if not declared:
        return []
    out = [f"settings ([checks.{lemma}] in a --config file):"]
    for name, s in declared.items():
        d = s.default
        shown = list(d) if isinstance(d, tuple) else d
        out.append(f"  {name} = {_toml(shown)}  ({s.expected}): {s.description}")
    return out


def to_json(declared: Mapping[str, Setting]) -> dict[str, dict[str, Any]]:
    """The declarations as JSON (``verify list --json``)."""
    return {name: {"default": list(s.default) if isinstance(s.default, tuple) else s.default,
                   "expected": s.expected, "description": s.description}
            for name, s in declared.items()}


def _toml(v) -> str:
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return f"{v:g}" if isinstance(v, float) else str(v)


__all__ = ["Setting", "integer", "number", "numbers", "names", "resolve", "values", "describe",
           "check_tables", "validate_declared", "to_json", "VerifyError"]

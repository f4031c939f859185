"""The toolkit's one error class for bad input (validated at the boundary)."""

from __future__ import annotations


class VerifyError(ValueError):
    """Bad input: names the parameter, the allowed range and the value received."""


def invalid(name: str, allowed: str, value: object) -> VerifyError:
    """Build the standard message ``name: expected <allowed>, got <value>``; a name with
    unprintable characters (a key read from a user's file) is shown escaped, so the
    message stays one line."""
    name = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(name))
    return VerifyError(f"{name}: expected {allowed}, got {value!r}")

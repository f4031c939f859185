"""The toolkit's one error class for bad input (validated at the boundary)."""

from __future__ import annotations


class VerifyError(ValueError):
    """Bad input: names the parameter, the allowed range and the value received."""


def invalid(name: str, allowed: str, value: object) -> VerifyError:
    """Build the standard message ``name: expected <allowed>, got <value>``."""
    return VerifyError(f"{name}: expected {allowed}, got {value!r}")

"""nertag's own error type: every failure a user can cause ends up here.

The CLI catches :class:`NertagError`, prints ``error: <message>`` on one line to
standard error and exits with ``exit_code`` (2 = usage error, 1 = anything
else); ``--debug`` shows the traceback instead.

Messages are in the library's words (a path, a config key, a field); an error names
the inputs that are wrong (or would fix it) by their parameter names in ``inputs``,
and the command line adds the options that give them (``--model DIR``).
"""

from __future__ import annotations


class NertagError(Exception):
    """A user-facing error: one line saying what is wrong and what to do."""

    def __init__(self, message: str, exit_code: int = 1, *, inputs: tuple[str, ...] = ()):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        #: The parameters (``model``, ``output``, ``force``, ...) whose value is wrong or
        #: would fix it, for the command line to name its options.
        self.inputs = tuple(inputs)

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message


class UsageError(NertagError):
    """Bad command-line usage or configuration (exit code 2)."""

    def __init__(self, message: str, *, inputs: tuple[str, ...] = ()):
        super().__init__(message, exit_code=2, inputs=inputs)


def json_type(value) -> str:
    """The JSON name of a decoded value's type, for messages (``got a number``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"

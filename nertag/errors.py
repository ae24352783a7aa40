"""nertag's own error type: every failure a user can cause ends up here.

The CLI catches :class:`NertagError`, prints ``error: <message>`` on one line to
standard error and exits with ``exit_code`` (2 = usage error, 1 = anything
else); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations


class NertagError(Exception):
    """A user-facing error: one line saying what is wrong and what to do."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message


class UsageError(NertagError):
    """Bad command-line usage or configuration (exit code 2)."""

    def __init__(self, message: str):
        super().__init__(message, exit_code=2)

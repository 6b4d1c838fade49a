# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors of the hosted-engine formats (private, may change)."""
from __future__ import annotations


class HostedEngineError(Exception):
    """Base of every error raised by this package."""


class ConfigError(HostedEngineError, ValueError):
    """A value cannot be written: names the field and the expected form."""

    def __init__(self, field: str, expected: str, got: object = None) -> None:
        self.field = field
        self.expected = expected
        self.got = got
        message = "{0}: expected {1}".format(field, expected)
        if got is not None:
            message += ", got {0!r}".format(got)
        super().__init__(message)


class ParseError(HostedEngineError, ValueError):
    """A file cannot be read as the format it should have."""

    def __init__(self, source: str, line: int, message: str) -> None:
        self.source = source
        self.line = line
        super().__init__("{0}, line {1}: {2}".format(source, line, message))

"""User-facing errors: raised for bad input, printed as one paragraph, exit code 2."""

from __future__ import annotations


class SelftaughtError(Exception):
    """An error caused by the user's input (config, data, paths). The CLI prints it and exits 2."""


class ConfigError(SelftaughtError):
    """A recipe or override that does not validate."""


class DataError(SelftaughtError):
    """A data file that cannot be read: names the file and line."""

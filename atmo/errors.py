"""Errors that name the offending file and the problem in one line.

Bad input must stop a job before any compute and must say exactly what is wrong and where, so the
user can fix the file instead of reading a traceback. Every reader raises :class:`InputError`.
"""

from __future__ import annotations

from os import PathLike


class InputError(ValueError):
    """A file (or config entry) that cannot be used, with a one-line reason.

    The message is always ``"<path>: <problem>"`` so it reads well in a Snakemake log.
    """

    def __init__(self, path: str | PathLike[str], problem: str) -> None:
        self.path = str(path)
        self.problem = " ".join(problem.split())
        super().__init__(f"{self.path}: {self.problem}")


class ConfigError(ValueError):
    """A configuration value that does not match the schema, named by its dotted key."""

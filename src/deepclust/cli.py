"""What every ``python -m deepclust.*`` command shares: its description is its module's first
paragraph, and an error the user can fix (a missing file, a bad value, a held lock) is one line
naming it, never a traceback."""

from __future__ import annotations

import argparse
from collections.abc import Callable

#: the errors a command reports in one line (a bug still shows its traceback)
USER_ERRORS = (OSError, ValueError, RuntimeError)


def parser(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """An argument parser whose description is ``doc``'s first paragraph, whole."""
    first = " ".join((doc or "").split("\n\n")[0].split())
    return argparse.ArgumentParser(prog=prog, description=first)


def run(parser: argparse.ArgumentParser, body: Callable[[], int | None]) -> int:
    """``body()``'s exit status; a user error exits 1 with ``prog: message`` on stderr."""
    try:
        return body() or 0
    except USER_ERRORS as error:
        message = str(error) or type(error).__name__
        if isinstance(error, FileNotFoundError) and error.filename:
            message = (
                f"{error.filename}: no such file (run from the workflow's folder, or pass the path)"
            )
        parser.exit(1, f"{parser.prog}: {message}\n")
    except KeyboardInterrupt:  # Ctrl-C: one line, not a traceback
        parser.exit(130, f"{parser.prog}: stopped by Ctrl-C\n")

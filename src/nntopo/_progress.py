"""A progress bar for long loops that stays silent when asked or when not on a terminal."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator, Protocol


class Advance(Protocol):
    def __call__(self, steps: int = 1, description: str | None = None) -> None: ...


@contextmanager
def progress_bar(total: int | None, description: str, enabled: bool = True) -> Iterator[Advance]:
    """Yield ``advance(steps=1, description=None)``; draws a rich bar only if enabled and stderr is a TTY."""
    if not (enabled and sys.stderr.isatty()):
        yield lambda steps=1, description=None: None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(description, total=total)

        def advance(steps: int = 1, description: str | None = None) -> None:
            if description is None:
                bar.advance(task, steps)
            else:
                bar.update(task, advance=steps, description=description)

        yield advance

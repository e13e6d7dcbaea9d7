"""The report's parts (figures, tables, notes), the store it reads, and the page's rendering.

A :class:`ReportSection` is ``id``, ``title``, ``applies(store) -> bool`` and
``build(store) -> list of items`` (:class:`Figure`, :class:`Table`, :class:`Note`,
:class:`Preformatted`); :func:`render_report` runs the builders that apply, in order,
and renders the template. A builder that fails does not lose the page: its section shows
the error as a note (and the error is logged), unless ``strict=True``, which re-raises.
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import json
import logging
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Sequence, Union

import numpy as np

from .._validation import check_bool, check_int

log = logging.getLogger("nntopo")

__all__ = ["Figure", "Table", "Note", "Preformatted", "ReportSection", "ReportStore", "markdown_table",
           "check_report", "render_report", "build_report", "fmt", "REPORT_NAME"]

#: File name of the report inside the sweep folder when no path is given.
REPORT_NAME = "report.html"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- items of a section


@dataclass(frozen=True)
class Figure:
    """A figure embedded as a PNG ``data:`` URI; ``width`` and ``height`` in pixels."""

    title: str
    caption: str
    data_uri: str
    width: int
    height: int
    kind: str = field(default="figure", init=False)


@dataclass(frozen=True)
class Table:
    """A table of strings: ``header`` (n_columns,) and ``rows`` (each n_columns long).
    ``text``: cells are prose (left-aligned, wrapped) rather than numbers."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    text: bool = False
    kind: str = field(default="table", init=False)

    def __post_init__(self) -> None:
        for i, row in enumerate(self.rows):
            if len(row) != len(self.header):
                raise ValueError(f"rows[{i}] has {len(row)} cells, the header {len(self.header)}")


@dataclass(frozen=True)
class Note:
    """A paragraph; ``level`` "info" or "error" (a part that could not be built)."""

    text: str
    level: str = "info"
    kind: str = field(default="note", init=False)


@dataclass(frozen=True)
class Preformatted:
    """Text shown as is (monospace), e.g. the resolved config as JSON."""

    title: str
    text: str
    kind: str = field(default="pre", init=False)


Item = Union[Figure, Table, Note, Preformatted]


@dataclass(frozen=True)
class ReportSection:
    """A section builder: ``applies(store)`` says whether the store holds what the section
    shows; ``build(store)`` returns its items in page order."""

    id: str
    title: str
    applies: Callable[["ReportStore"], bool]
    build: Callable[["ReportStore"], list]


# --------------------------------------------------------------------------- the store


class ReportStore:
    """A sweep folder opened for the report: its ``sweep.json`` (``meta``), config, loaded
    results (``ds``) and the report's options. Built by :func:`check_report`'s checks."""

    def __init__(self, out: Path, *, n_permutations: int = 10_000, seed: int = 0, strict: bool = False) -> None:
        from ..sweep.store import META_NAME

        self.out = out
        self.meta = json.loads((out / META_NAME).read_text(encoding="utf-8"))
        self.n_permutations = n_permutations
        self.seed = seed
        self.strict = strict

    @cached_property
    def config(self):
        """The :class:`~nntopo.sweep.SweepConfig` the sweep was made with."""
        from ..sweep.store import stored_config

        return stored_config(self.out)

    @cached_property
    def ds(self):
        """The results (:func:`nntopo.sweep.open_results`), loaded into memory."""
        from ..sweep.store import open_results

        return open_results(self.out).load()

    @property
    def name(self) -> str:
        return str(self.meta["config"].get("name", self.out.name))

    def has(self, *names: str) -> bool:
        """True if the store holds every variable in ``names``."""
        return all(n in self.ds for n in names)

    @cached_property
    def labels(self) -> list[str]:
        """One label per snapshot ("acc ≥ 0.9", "epoch 10")."""
        from ..plotting.sweep import snapshot_labels

        return snapshot_labels(self.ds)

    def figure(self, title: str, caption: str, draw: Callable[[], Any], dpi: int = 100) -> Item:
        """``draw()`` returns a matplotlib Figure (or Axes); it is embedded as a PNG and
        closed. A failure becomes an error :class:`Note` naming the figure (re-raised if strict)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        before = set(plt.get_fignums())
        try:
            fig = draw()
            fig = getattr(fig, "figure", fig)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=dpi)
        except Exception as exc:  # one figure that cannot be drawn does not lose the page
            if self.strict:
                raise
            log.warning("report: figure %r could not be drawn: %s", title, exc)
            return Note(f"The figure “{title}” could not be drawn: {type(exc).__name__}: {exc}", "error")
        finally:
            for num in set(plt.get_fignums()) - before:
                plt.close(num)
        png = buf.getvalue()
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        return Figure(title, caption, "data:image/png;base64," + base64.b64encode(png).decode("ascii"), width, height)


# --------------------------------------------------------------------------- helpers for builders


def markdown_table(text: str, title: str, caption: str = "") -> list[Item]:
    """Markdown as nntopo's study modules write it -> report items, in order: each run of
    ``| a | b |`` lines (a header, a ``|---|`` rule, the rows) becomes a :class:`Table`
    (the first titled ``title`` with ``caption``, later ones ``title (2)``, ...), and each
    other non-empty line a :class:`Note` (the modules' remarks, e.g. networks that did not
    reach a snapshot)."""
    lines = [ln.strip() for ln in text.strip().splitlines()]

    def cells(line: str) -> tuple[str, ...]:
        return tuple(c.strip() for c in line.strip().strip("|").split("|"))

    items: list[Item] = []
    n_tables, i = 0, 0
    while i < len(lines):
        if not lines[i].startswith("|"):
            if lines[i]:
                items.append(Note(lines[i]))
            i += 1
            continue
        j = i
        while j < len(lines) and lines[j].startswith("|"):
            j += 1
        block = lines[i:j]
        if len(block) < 2 or set(block[1].replace("|", "").strip()) - set("-: "):
            raise ValueError(f"text: not a Markdown table (header and rule expected): {block[0][:80]!r}")
        n_tables += 1
        items.append(Table(title if n_tables == 1 else f"{title} ({n_tables})", cells(block[0]),
                           tuple(cells(r) for r in block[2:]), caption if n_tables == 1 else ""))
        i = j
    if not n_tables:
        raise ValueError(f"text: not a Markdown table (header and rule expected): {text[:80]!r}")
    return items


def fmt(x: Any, digits: int = 4) -> str:
    """A number for a table cell: ``digits`` significant digits, "–" for NaN or None."""
    if x is None:
        return "–"
    x = float(x)
    if not np.isfinite(x):
        return "–"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.{digits}g}"


# --------------------------------------------------------------------------- the page


def check_report(out: str | os.PathLike, path: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """Check a report's arguments without reading the results or writing anything.

    ``out``: a sweep folder (``nntopo run`` / ``nntopo demo``); ``path``: the HTML file to
    write (default ``OUT/report.html``), in an existing folder. Returns both as absolute
    paths. Raises ``TypeError`` for a wrong kind, ``FileNotFoundError`` for a missing
    folder or store, ``ValueError`` for a folder that is not a sweep's or a path that is a
    folder.
    """
    from ..sweep.store import META_NAME, STORE_NAME, _read_meta

    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"out must be a str or os.PathLike (a sweep folder), got {type(out).__name__}")
    if os.fspath(out) == "":
        raise ValueError("out is empty; give a sweep folder")
    folder = Path(os.path.realpath(out))
    if not folder.exists():
        raise FileNotFoundError(f"out: no folder at {folder}")
    if not folder.is_dir():
        raise ValueError(f"out: {folder} is a file, not a sweep folder")
    if _read_meta(folder) is None:
        raise ValueError(f"out: {folder} is not a sweep folder (no readable {META_NAME}); give the --out folder of "
                         "nntopo run or nntopo demo")
    if not (folder / STORE_NAME).is_dir():
        raise FileNotFoundError(f"out: {folder} has a {META_NAME} but no {STORE_NAME}")
    if path is None:
        target = folder / REPORT_NAME
    else:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or os.PathLike (the HTML file to write), got {type(path).__name__}")
        if os.fspath(path) == "":
            raise ValueError("path is empty; give a file name")
        target = Path(os.path.realpath(path))
        if target.is_dir():
            raise ValueError(f"path: {target} is a folder; give the HTML file to write")
        if not target.parent.is_dir():
            raise FileNotFoundError(f"path: the folder {target.parent} does not exist")
    return folder, target


def render_report(store: ReportStore, sections: Sequence[ReportSection] | None = None) -> str:
    """The HTML text of the report of ``store`` with ``sections`` (default :data:`SECTIONS`)."""
    import jinja2

    from .. import __version__
    from .sections import SECTIONS

    sections = SECTIONS if sections is None else sections
    built = []
    for section in sections:
        if not isinstance(section, ReportSection):
            raise TypeError(f"sections must hold ReportSection builders, got {type(section).__name__}")
        try:
            if not section.applies(store):
                continue
            items = list(section.build(store))
        except Exception as exc:  # a failing section is shown as such; the rest of the page stands
            if store.strict:
                raise
            log.warning("report: section %r could not be built: %s", section.title, exc)
            items = [Note(f"This section could not be built: {type(exc).__name__}: {exc}", "error")]
        built.append({"id": section.id, "title": section.title, "items": items})
    env = jinja2.Environment(loader=jinja2.PackageLoader("nntopo.report", "templates"),
                             autoescape=jinja2.select_autoescape(("html", "j2")), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return env.get_template("report.html.j2").render(name=store.name, out=str(store.out), sections=built,
                                                       generated=now, nntopo_version=__version__)


def build_report(out: str | os.PathLike, path: str | os.PathLike | None = None, *, n_permutations: int = 10_000,
                 seed: int = 0, strict: bool = False, sections: Sequence[ReportSection] | None = None) -> Path:
    """Write one self-contained HTML page about the sweep folder ``out``; return its path.

    ``path``: the file (default ``OUT/report.html``), written through a temporary name
    and a rename. ``n_permutations`` and ``seed``: the permutation tests of Table I
    (activation landscapes), stated on the page. ``strict``: re-raise a section's or a
    figure's error instead of showing it on the page. ``sections``: the builders
    (default :data:`~nntopo.report.SECTIONS`). Works on any sweep folder, whatever
    analyses it holds, also while it is still running (pieces not done are left out).
    """
    from ..sweep.store import write_atomic

    folder, target = check_report(out, path)
    n_permutations = check_int(n_permutations, "n_permutations", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    strict = check_bool(strict, "strict")
    html = render_report(ReportStore(folder, n_permutations=n_permutations, seed=seed, strict=strict), sections)
    write_atomic(target, html)
    return target

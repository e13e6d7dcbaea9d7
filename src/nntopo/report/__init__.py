"""One self-contained HTML page for a sweep folder: ``build_report`` behind ``nntopo report STORE``.

The page is rendered from a jinja2 template (``templates/report.html.j2``, package
data); every figure is a PNG embedded as a ``data:`` URI, so the file can be mailed or
archived alone. Its sections come from :data:`SECTIONS`, a list of
:class:`ReportSection` builders, each saying whether it applies to a store; a study adds
its own by appending one more builder.
"""

from .build import (
    REPORT_NAME,
    Figure,
    Note,
    Preformatted,
    ReportSection,
    ReportStore,
    Table,
    build_report,
    check_report,
    fmt,
    markdown_table,
    render_report,
)
from .sections import SECTIONS

__all__ = [
    "REPORT_NAME",
    "SECTIONS",
    "Figure",
    "Note",
    "Preformatted",
    "ReportSection",
    "ReportStore",
    "Table",
    "build_report",
    "check_report",
    "fmt",
    "markdown_table",
    "render_report",
]

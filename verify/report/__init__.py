"""``verify report``: every registered lemma on its default presets, written as a report.

The report reads only :class:`~verify.results.CheckResult` objects and the figure
functions of the registry; it never recomputes a statistic. It writes,
into one folder,

``index.html``    one self-contained page (inline CSS, figures as base64 PNG);
``REPORT.md``     the same in Markdown, figures beside it in ``figures/``;
``results.json``  every result (``verify check --json`` objects) + provenance;
``results.csv``   every per-sample table stacked, with ``lemma``/``preset``/``seed``
                  columns (``results.parquet`` too when pyarrow is importable);
``tables/``       the further tables (sweeps, grids), one gzipped CSV per lemma and
                  table name, stacked over presets.

One concern per module:

``build``       :func:`build_report`: validate, run, draw, record, write;
``checks``      the checks as tasks of :func:`verify.runner.run` (serial or forked
                workers, its retry policy and progress display); workers return results;
``figures``     figures drawn from the results, in forked helpers while checks run;
``sweeps``      finished ``verify sweep`` folders as report sections;
``provenance``  versions, commit, seeds, machine, timing;
``rows``        the one row model (:class:`~verify.report.rows.Page`) both pages read;
``html``, ``markdown``  the two renderings of that model;
``write``       the files, the atomic folder swap and its repair on the next run;
``model``       the entries, the finished :class:`Report`, the verdict labels.

The folder is written atomically (:mod:`verify.report.write`); if it cannot be written
once the checks have run (it became read-only, the disk filled), the report goes to a
fresh temporary folder instead and :attr:`Report.fallback_reason` says why.

Registered known findings (:mod:`verify.findings`) are listed in a section of their
own; the exit code is 0 when every result matches its expectation or differs only as a
registered finding.
"""

from __future__ import annotations

from .build import DEFAULT_OUT, build_report
from .checks import CheckRun, CheckTask, previous_costs, run_checks, run_task
from .figures import render_figures
from .html import render_html
from .markdown import render_markdown
from .model import Entry, FigureOut, Report, status
from .provenance import provenance
from .rows import HEAD_ROWS, HEAD_ROWS_EXTRA, Page, page
from .sweeps import SweepSection, load_sweeps
from .write import (SCHEMA, recover_interrupted, results_payload, stacked_tables,
                    validate_out, write_files, write_report)

__all__ = ["DEFAULT_OUT", "SCHEMA", "HEAD_ROWS", "HEAD_ROWS_EXTRA", "Report", "Entry",
           "FigureOut", "SweepSection", "Page", "CheckTask", "CheckRun", "load_sweeps",
           "status", "validate_out", "recover_interrupted", "run_checks", "run_task",
           "previous_costs", "render_figures", "provenance", "page", "render_html",
           "render_markdown", "results_payload", "stacked_tables", "write_files",
           "write_report", "build_report"]

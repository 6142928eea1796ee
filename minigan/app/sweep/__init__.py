"""``minigan sweep``: many runs at once, one table and one figure (the command's reference:
``minigan.app.sweep.command``).

- ``spec``: ``Spec``, ``Point``, ``make_spec``, ``load_spec``, ``SpecError``: what to run, checked;
- ``runner``: ``run_point`` (one run folder, through the run driver ``run.train_in_folder``),
  ``run_sweep`` (every point, on Dask or one after another), ``SweepResult``;
- ``results``: results.csv, the summary per configuration as a table and a figure;
- ``command``: the ``minigan sweep`` command (``build_parser``, ``main``).
"""

from .command import build_parser, main
from .results import (
    CSV_HEAD,
    CSV_TAIL,
    METRIC_ORDER,
    NOT_METRICS,
    TITLES,
    columns,
    metric_columns,
    read_csv,
    row,
    summarize,
    summary_figure,
    summary_table,
    write_csv,
)
from .runner import (
    BLAS_VARS,
    CONNECT_TIMEOUT,
    PROG,
    SweepResult,
    dask_available,
    finished,
    held_config,
    report,
    run_point,
    run_sweep,
)
from .spec import FIELDS, RUN_DEFAULTS, Point, Spec, SpecError, label, load_spec, make_spec, safe_name

__all__ = [
    "BLAS_VARS", "CONNECT_TIMEOUT", "CSV_HEAD", "CSV_TAIL", "FIELDS", "METRIC_ORDER", "NOT_METRICS", "PROG",
    "RUN_DEFAULTS", "TITLES", "Point", "Spec", "SpecError", "SweepResult", "build_parser", "columns",
    "dask_available", "finished", "held_config", "label", "load_spec", "main", "make_spec", "metric_columns",
    "read_csv", "report", "row", "run_point", "run_sweep", "safe_name", "summarize", "summary_figure",
    "summary_table", "write_csv",
]  # fmt: skip

"""A sweep's results: ``results.csv`` (one row per point), the summary per configuration (mean ±
std over seeds) as a table and as ``summary.png``."""

from __future__ import annotations

import csv
import io
import math
import os
from typing import Any

import numpy as np

from ..._checks import is_number
from ...figures import plots
from ...files import atomic_write
from .spec import Point, Spec

CSV_HEAD = ("run", "status")
CSV_TAIL = ("train_seconds", "seconds", "warnings", "message")
METRIC_ORDER = ("modes_covered", "modes", "high_quality", "kl", "js", "w1", "sliced_w1")
NOT_METRICS = {"n", "step", "train_seconds", "steps_trained", "warnings", "counts"}
TITLES = {
    "high_quality": "% high quality",
    "modes_covered": "modes covered",
    "kl": "reverse KL to uniform",
    "sliced_w1": "sliced W1",
    "js": "Jensen-Shannon",
    "w1": "W1",
}


def row(p: Point, r: dict[str, Any] | None) -> dict[str, Any]:
    """The results.csv row of the point ``p`` whose result is ``r`` (None: unfinished)."""
    out = {"run": p.name, "status": r["status"] if r else "unfinished", **p.values}
    m = (r["metrics"] if r else {}) or {}
    out["step"] = r.get("step") if r else None
    for k, v in m.items():
        if k not in NOT_METRICS and (v is None or is_number(v)):
            out[k] = math.nan if v is None else v  # metrics.json writes NaN as null
    out["train_seconds"] = m.get("train_seconds")
    out["seconds"] = (
        round(r["seconds"], 3) if r else None
    )  # the point's wall time in this sweep (0: over before)
    out["warnings"] = ";".join(w.get("warning", "") for w in m.get("warnings", []) or [])
    out["message"] = r["message"] if r else ""
    return out


def metric_columns(rows: list[dict[str, Any]], spec: Spec) -> list[str]:
    """The metric columns present in ``rows`` (not the axes), PacGAN's first."""
    skip = {"run", "status", "step", *CSV_TAIL, *(k for k, _ in spec.axes)}
    seen: list[str] = []
    for r in rows:
        seen += [k for k in r if k not in skip and k not in seen]
    return sorted(seen, key=lambda k: (METRIC_ORDER.index(k) if k in METRIC_ORDER else len(METRIC_ORDER), k))


def columns(rows: list[dict[str, Any]], spec: Spec) -> list[str]:
    """results.csv's columns: run, status, the axes, step, the metrics, train_seconds, seconds, warnings,
    message."""
    return [*CSV_HEAD, *(k for k, _ in spec.axes), "step", *metric_columns(rows, spec), *CSV_TAIL]


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.9g}"
    return str(v)


def write_csv(rows: list[dict[str, Any]], spec: Spec, path: str | os.PathLike[str]) -> str:
    """results.csv: one row per point, the columns of ``columns`` (``files.atomic_write``)."""
    cols = columns(rows, spec)
    text = io.StringIO(newline="")
    w = csv.writer(text)
    w.writerow(cols)
    for r in rows:
        w.writerow([_cell(r.get(c)) for c in cols])
    return atomic_write(path, text.getvalue())


def read_csv(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """The rows of a results.csv, as dicts of strings."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def summarize(rows: list[dict[str, Any]], spec: Spec) -> list[dict[str, Any]]:
    """One dict per configuration (the axes but ``seed``): its axis labels, ``runs``, ``done``,
    and for each metric ``(mean, std)`` over its finished runs (NaN where none)."""
    keys = [k for k, _ in spec.axes if k != "seed"]
    mcols = metric_columns(rows, spec)
    out = []
    for g, rs in _groups(rows, keys, done_only=False).items():
        ok = [r for r in rs if r["status"] == "done"]
        s = {**dict(zip(keys, g)), "runs": len(rs), "done": len(ok)}
        for c in mcols:
            v = np.array([np.nan if r.get(c) is None else float(r[c]) for r in ok], dtype=float)
            v = v[np.isfinite(v)]
            s[c] = (float(v.mean()), float(v.std())) if v.size else (math.nan, math.nan)
        out.append(s)
    return out


def _groups(
    rows: list[dict[str, Any]], keys: list[str], done_only: bool
) -> dict[tuple, list[dict[str, Any]]]:
    """The rows by configuration (their values of ``keys``), in the order met."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        if not done_only or r["status"] == "done":
            groups.setdefault(tuple(r.get(k) for k in keys), []).append(r)
    return groups


def _fmt(c: str, mean_std: tuple[float, float]) -> str:
    mu, sd = mean_std
    if math.isnan(mu):
        return "—"
    if c == "high_quality":
        return f"{100 * mu:.1f} ± {100 * sd:.1f}"
    if c in ("modes_covered",):
        return f"{mu:.1f} ± {sd:.1f}"
    return f"{mu:.3g} ± {sd:.2g}"


def summary_table(rows: list[dict[str, Any]], spec: Spec) -> str:
    """The summary as a Markdown table: each configuration, runs done, each metric mean ± std."""
    summ = summarize(rows, spec)
    keys = [k for k, _ in spec.axes if k != "seed"]
    mcols = [c for c in metric_columns(rows, spec) if c != "modes"]
    head = [
        *keys,
        "runs done",
        *({"high_quality": "% high quality", "kl": "reverse KL"}.get(c, c) for c in mcols),
    ]
    totals = _mode_totals(rows)
    if "modes_covered" in mcols:
        one = f" (of {next(iter(totals)):g})" if len(totals) == 1 else ""
        head[head.index("modes_covered")] = "modes covered" + one
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in summ:
        cells = [str(s[k]) for k in keys] + [f"{s['done']}/{s['runs']}"]
        for c in mcols:
            cell = _fmt(c, s[c])
            if c == "modes_covered" and len(totals) > 1 and not math.isnan(s["modes"][0]):
                cell += f" / {s['modes'][0]:g}"  # data sets of different mode counts: each its own
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _mode_totals(rows: list[dict[str, Any]]) -> set[float]:
    """The data sets' numbers of modes among the rows (one per data set of the sweep)."""
    return {float(r["modes"]) for r in rows if r.get("modes") not in (None, "")}


def summary_figure(rows: list[dict[str, Any]], spec: Spec, path: str | os.PathLike[str]) -> str | None:
    """summary.png: one panel per metric, each configuration's mean ± std over seeds (a bar) and
    each seed (a dot); a configuration whose runs failed says how many. None without matplotlib."""
    if not plots.available():
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k, _ in spec.axes if k != "seed"]
    mcols = [c for c in metric_columns(rows, spec) if c != "modes"]
    summ = summarize(rows, spec)
    if not mcols or not summ:
        return None
    rotate = len(summ) > 4
    labels = [(" · " if rotate else "\n").join(str(s[k]) for k in keys) or "base" for s in summ]
    labels = [
        lab + (f"\n({s['runs'] - s['done']} failed)" if s["done"] < s["runs"] else "")
        for lab, s in zip(labels, summ)
    ]
    done = _groups(rows, keys, done_only=True)
    fig, axes = plt.subplots(
        1, len(mcols), figsize=(max(3.2, 0.55 * len(summ) + 1.2) * len(mcols), 3.4), squeeze=False, dpi=80
    )
    for ax, c in zip(axes[0], mcols):
        dots = [[r[c] for r in done.get(tuple(s[k] for k in keys), []) if r.get(c) is not None] for s in summ]
        _panel(ax, c, summ, dots, labels, rotate)
        if c == "modes_covered":  # each configuration's data: its number of modes, dashed
            for i, s in enumerate(summ):
                if not math.isnan(s["modes"][0]):
                    ax.hlines(s["modes"][0], i - 0.45, i + 0.45, color="C3", lw=0.8, ls="--")
    seeds = dict(spec.axes).get("seed")
    fig.suptitle(
        f"{spec.name}: mean ± std over {len(seeds)} seeds, each seed a dot" if seeds else spec.name,
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return str(path)


def _panel(
    ax: Any, c: str, summ: list[dict[str, Any]], dots: list[list[float]], labels: list[str], rotate: bool
) -> None:
    """The panel of the metric ``c``: a bar (mean ± std) per configuration, its runs as dots."""
    scale = 100.0 if c == "high_quality" else 1.0
    x = np.arange(len(summ))
    mu = np.array([s[c][0] for s in summ]) * scale
    sd = np.array([s[c][1] for s in summ]) * scale
    ax.bar(x, np.nan_to_num(mu), yerr=sd, color="C0", alpha=0.35, capsize=3, ecolor="C0")
    for i, vals in enumerate(dots):
        vals = [float(v) * scale for v in vals]
        xs = np.full(len(vals), i) + np.linspace(-0.12, 0.12, len(vals)) if len(vals) > 1 else [i] * len(vals)
        ax.plot(xs, vals, "o", color="C0", ms=3.5)
    ax.set_xticks(x)
    ax.set_xticklabels(labels, fontsize=7, rotation=30 if rotate else 0, ha="right" if rotate else "center")
    ax.set_title(TITLES.get(c, c), fontsize=9)
    ax.grid(alpha=0.3, axis="y")

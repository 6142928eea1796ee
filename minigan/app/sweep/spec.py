"""A sweep's spec: a base config, the axes to vary, how each run is run; checked as a whole.

``make_spec(base, axes, run)`` from Python, ``load_spec(path)`` from a .toml or .json file; a bad
value is a ``SpecError`` naming its key (``axes.mode[1]: mode: expected one of ...``). Each
combination of the axes' values is a ``Point``: a folder name and a checked ``TrainConfig``.

A spec holds at most ``MAX_POINTS`` points (10,000: checking them takes about a second, running
them days); a spec file that gives neither ``[base]`` nor ``[axes]`` defines no runs and is
refused (``make_spec()`` from Python, with nothing, is one run of TrainConfig's defaults).
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
import os
import sys
from dataclasses import dataclass, field, fields
from typing import Any

from ...data import DATASETS
from ...training import TrainConfig
from ..run import DEFAULT_CHECKPOINT_EVERY, DEFAULT_EVAL_EVERY, EVAL_SAMPLES, RunSettings

FIELDS = {f.name: f for f in fields(TrainConfig)}
# [run] of a spec: the RunSettings a sweep's runs take, and their defaults
RUN_DEFAULTS = {
    "checkpoint_every": DEFAULT_CHECKPOINT_EVERY,
    "eval_every": DEFAULT_EVAL_EVERY,
    "eval_samples": EVAL_SAMPLES,
    "plots": True,
}


MAX_POINTS = 10_000  # points of one sweep: more is a typo, or several sweeps


class SpecError(ValueError):
    """A bad spec or option: one line, ``minigan sweep: error: ...``, exit code 2."""


@dataclass
class Point:
    """One run of a sweep: ``name`` (its folder), ``values`` (axis -> label), ``config``
    (``TrainConfig.to_dict()``)."""

    name: str
    values: dict
    config: dict


@dataclass
class Spec:
    """A base config, the axes to vary (a list of (name, values)) and the run options."""

    base: dict = field(default_factory=dict)
    axes: list = field(default_factory=list)
    run: dict = field(default_factory=dict)
    name: str = "sweep"

    def points(self) -> list[Point]:
        """Every combination of the axes' values, the last axis fastest."""
        return _points(self, "")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "base": self.base, "axes": dict(self.axes), "run": self.run}

    def differs_from(self, held: dict[str, Any]) -> str:
        """ "" if ``held`` (a ``to_dict()`` read back from sweep.json) is this spec, its name aside;
        else the first keys that differ, e.g. ``base.steps: 60 there, 40 here``."""
        mine = json.loads(json.dumps(self.to_dict(), default=str))
        diffs = []
        for part in ("base", "axes", "run"):
            a, b = held.get(part) or {}, mine.get(part) or {}
            if not isinstance(a, dict):
                a = {}
            keys = list(dict.fromkeys([*a, *b]))
            diffs += [
                f"{part}.{k}: {a.get(k)!r} there, {b.get(k)!r} here" for k in keys if a.get(k) != b.get(k)
            ]
            if part == "axes" and not diffs and list(a) != list(b):
                diffs.append(f"axes in the order {', '.join(a)} there, {', '.join(b)} here")
        return "; ".join(diffs[:2]) + ("; ..." if len(diffs) > 2 else "")


def make_spec(
    base: dict[str, Any] | None = None,
    axes: dict[str, list] | list[tuple[str, list]] | None = None,
    run: dict[str, Any] | None = None,
    name: str = "sweep",
    where: str = "",
) -> Spec:
    """A checked ``Spec``: ``axes`` a dict (or list of pairs) axis -> list of values; every value
    is checked by building its ``TrainConfig``, ``run`` by building a ``RunSettings``. Raises
    SpecError naming the key (prefixed by ``where``, e.g. the spec's file name)."""
    pre = f"{where}: " if where else ""
    base = {key: _field_value(f"{pre}base.{key}", key, v) for key, v in dict(base or {}).items()}
    axes = list((axes or {}).items()) if isinstance(axes, dict) else list(axes or [])
    run = dict(run or {})
    _check_run(run, pre)
    checked = [(key, _axis_values(f"{pre}axes.{key}", key, values, base)) for key, values in axes]
    total = math.prod(len(vals) for _, vals in checked)
    if total > MAX_POINTS:
        sizes = " × ".join(str(len(vals)) for _, vals in checked)
        raise SpecError(
            f"{pre}axes: {sizes} = {total:,} runs, more than a sweep takes (at most {MAX_POINTS:,}); "
            "split it into several sweeps"
        )
    try:
        TrainConfig(**base)
    except (ValueError, TypeError) as e:
        raise SpecError(f"{pre}base.{e}" if ":" in str(e) else f"{pre}base: {e}") from None
    for key, vals in checked:
        for i, v in enumerate(vals):
            extra = {k: x for k, x in v.items() if k != "name"} if key not in FIELDS else {key: v}
            try:
                TrainConfig(**{**base, **extra})
            except (ValueError, TypeError) as e:
                raise SpecError(f"{pre}axes.{key}[{i}]: {e}") from None
    spec = Spec(base, checked, run, name)
    _points(spec, pre)  # every combination, and unique names
    return spec


def _check_run(run: dict[str, Any], pre: str) -> None:
    """[run]: known options, each a value ``RunSettings`` takes."""
    for key in run:
        if key not in RUN_DEFAULTS:
            raise SpecError(f"{pre}run.{key}: unknown option (expected one of {', '.join(RUN_DEFAULTS)})")
    try:
        RunSettings(**run)
    except ValueError as e:
        raise SpecError(f"{pre}run.{e}") from None


def _axis_values(where: str, key: str, values: Any, base: dict[str, Any]) -> list:
    """The values of the axis ``key``: values of a field, or tables of fields (an axis named after
    no field varies several at once; ``name`` labels the value)."""
    if not isinstance(values, (list, tuple)) or len(values) == 0:
        raise SpecError(f"{where}: expected a non-empty list of values, got {values!r}")
    if key in base:
        raise SpecError(f"{where}: {key} is also in base; give it in one place")
    if key in FIELDS:
        return [_field_value(f"{where}[{i}]", key, v) for i, v in enumerate(values)]
    return [_table(f"{where}[{i}]", where, key, v, base) for i, v in enumerate(values)]


def _table(w: str, where_axis: str, key: str, v: Any, base: dict[str, Any]) -> dict[str, Any]:
    """One value of an axis over several fields: a table of fields, and maybe its ``name``."""
    if not isinstance(v, dict):
        raise SpecError(
            _unknown_field(where_axis, key) + "; an axis over several fields at once "
            'takes tables of fields, e.g. [{g_loss = "minimax", k = 3}]'
        )
    if not v:  # {name = "baseline"} alone: the base as it is
        raise SpecError(f"{w}: expected a table of TrainConfig fields (or a name alone), got {{}}")
    t = {}
    for k2, v2 in v.items():
        if k2 == "name":
            if not isinstance(v2, str) or not v2:
                raise SpecError(f"{w}.name: expected a non-empty string, got {v2!r}")
            t[k2] = v2
        elif k2 in base:
            raise SpecError(f"{w}.{k2}: {k2} is also in base; give it in one place")
        else:
            t[k2] = _field_value(f"{w}.{k2}", k2, v2)
    return t


def _unknown_field(where: str, key: str) -> str:
    near = difflib.get_close_matches(key, list(FIELDS), n=3)
    return f"{where}: not a TrainConfig field" + (f" (did you mean {', '.join(near)}?)" if near else "")


def _field_value(where: str, key: str, v: Any) -> Any:
    """A spec value for the field ``key``: "none" -> None where the field takes None."""
    if key not in FIELDS:
        raise SpecError(_unknown_field(where, key))
    if key == "dataset" and v not in DATASETS:
        raise SpecError(f"{where}: expected one of {', '.join(DATASETS)}, got {v!r}")
    if isinstance(v, str) and v.lower() == "none" and "None" in str(FIELDS[key].type):
        return None
    if isinstance(v, dict) and key != "data_params":
        raise SpecError(f"{where}: expected a value of {key}, got a table {v!r}")
    return v


def label(v: Any) -> str:
    """An axis value as it appears in a folder name and the table: 0.5, none, true, 8x8, ..."""
    if isinstance(v, dict):
        return v.get("name") or "+".join(label(x) for k, x in v.items() if k != "name")
    if v is None:
        return "none"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple)):
        return "x".join(label(x) for x in v)
    return str(v)


def safe_name(s: str) -> str:
    """``s`` with every character a folder name should not hold as ``_``."""
    return "".join(c if c.isalnum() or c in "._=+,-" else "_" for c in s)


def _points(spec: Spec, pre: str) -> list[Point]:
    points: list[Point] = []
    seen: dict[str, dict[str, str]] = {}
    for combo in itertools.product(*(vals for _, vals in spec.axes)):
        cfg, values = dict(spec.base), {}
        for (key, _), v in zip(spec.axes, combo):
            if key in FIELDS:
                cfg[key] = v
            else:
                cfg.update({k: x for k, x in v.items() if k != "name"})
            values[key] = label(v)
        name = safe_name(",".join(f"{k}={x}" for k, x in values.items()) or "run")
        try:
            config = TrainConfig(**cfg).to_dict()
        except (ValueError, TypeError) as e:
            raise SpecError(f"{pre}point {name}: {e}") from None
        if name in seen:
            raise SpecError(
                f"{pre}points {seen[name]} and {values} get the same folder name {name!r}: "
                "give the values distinct labels"
            )
        seen[name] = values
        points.append(Point(name, values, json.loads(json.dumps(config))))
    return points


def load_spec(path: str | os.PathLike[str]) -> Spec:
    """The spec in ``path`` (.toml or .json), checked (``make_spec``); SpecError otherwise."""
    path = str(path)
    d = _read_table(path)
    unknown = set(d) - {"name", "base", "axes", "run"}
    if unknown:
        raise SpecError(f"{path}: {sorted(unknown)[0]}: unknown key (expected name, base, axes, run)")
    for key in ("base", "axes", "run"):
        if not isinstance(d.get(key, {}), dict):
            raise SpecError(f"{path}: {key}: expected a table, got {d[key]!r}")
    name = d.get("name", os.path.splitext(os.path.basename(path))[0])
    if not isinstance(name, str) or not name:
        raise SpecError(f"{path}: name: expected a non-empty string, got {name!r}")
    spec = make_spec(d.get("base"), d.get("axes"), d.get("run"), name, where=path)
    if not spec.base and not spec.axes:
        raise SpecError(
            f"{path}: the spec defines no runs: give [base] (the fields of one run) and/or [axes] "
            "(the values to vary), e.g. [axes] seed = [0, 1, 2]"
        )
    return spec


def _read_table(path: str) -> dict[str, Any]:
    """The top-level table of the .toml or .json file ``path``."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".toml", ".json"):
        raise SpecError(f"{path}: expected a .toml or .json spec file")
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file") from None
    except OSError as e:
        raise SpecError(f"{path}: cannot read it ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not a UTF-8 text file") from None
    if ext == ".json":
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise SpecError(f"{path}: not valid JSON ({e})") from None
    else:
        d = _toml(path, text)
    if not isinstance(d, dict):
        raise SpecError(f"{path}: expected a table with base, axes and run, got {type(d).__name__}")
    return d


def _toml(path: str, text: str) -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise SpecError(
                f"{path}: reading TOML needs Python 3.11 or `pip install tomli`; or write the spec as JSON"
            ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"{path}: not valid TOML ({e})") from None

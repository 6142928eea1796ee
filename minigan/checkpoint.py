"""Checkpoints: the whole state of a training run in one ``.npz`` file.

``save(gan, path)`` writes, as plain arrays (no pickles):

===========================  ===============================================================
key                          content
===========================  ===============================================================
``format``, ``version``      ``"minigan-checkpoint"``, the format version (``FORMAT_VERSION``)
``config``                   the ``TrainConfig`` as JSON (a NumPy unicode string)
``backend``                  the backend the file was written from (information only)
``step``                     steps taken so far
``rng``                      the random generator's state (``Random.state()``, JSON)
``history``                  (step, len(HISTORY)) float64; ``history_columns`` (JSON)
``G/param/<name>``           the generator's parameters (``MLP.params()`` names, e.g. ``0.W``)
``G/buffer/<name>``          its buffers (batch-norm running statistics)
``D/param/…``, ``D/buffer/…``  the same for the discriminator
``g_opt/config``, ``g_opt/t``  the generator's optimizer: hyper-parameters (JSON), step count
``g_opt/<slot>/<name>``      its state arrays (Adam's m and v, SGD's velocity v, ...)
``d_opt/…``                  the same for the discriminator's optimizer
``G/spec``, ``D/spec``       each network's ``MLPSpec`` (JSON): what it is, whatever built it
``data``                     JSON: the data dimension, and whether the config made the data
                             (else it was given in Python and must be given again to resume);
                             for a table of rows (``--data``): the columns' ``shift`` and
                             ``scale`` and the rows' ``fingerprint`` (``data_fingerprint``)
``minigan_version``          the version that wrote the file
``manifest``                 JSON {key: [shape, dtype]} of every other entry
===========================  ===============================================================

The file is written to a temporary file in the same folder and renamed over ``path``
(``os.replace``), so a crash mid-write never leaves a half-written checkpoint: the
previous one stays intact. ``load`` reads it with ``allow_pickle=False`` and checks it
(format, version, manifest, every shape and dtype against the networks the config
builds); anything wrong is a ``ValueError`` naming the file and the problem.

Resuming is exact: ``load(save(gan))`` continues with the same numbers as the run that
was never interrupted (same backend). A file written on one backend loads on another
(``load(path, backend="strict:device1")``). Files from before ``G/spec``, ``data`` and
``minigan_version`` existed load too: their networks are the ones their config builds.

A run of a data file resumes, and is evaluated, on the rows it trained on: ``load`` and
``SavedGAN.data`` compare the file's rows with the checkpoint's ``fingerprint`` and refuse a file
that changed since (a ValueError saying what changed: the number of rows, the values, the scale);
a file that is gone is a ValueError naming it. Checkpoints written before the fingerprint was kept
load without that check.

``path`` may also be a run folder: ``checkpoint_file`` finds its ``checkpoint.npz``.

``load_saved(path)`` (also ``minigan.load``) reads only the two networks: a ``SavedGAN`` that
samples and discriminates, without data set or optimizers.
"""

from __future__ import annotations

import hashlib
import json
import os
import weakref
from typing import Any

import numpy as np

from ._checks import check_int
from ._types import ArrayLike
from ._version import __version__
from .backend import Backend, Random, get_backend
from .data import ArrayDataset, Dataset, make_dataset, network_input
from .files import atomic_write
from .losses import sigmoid
from .networks import MLP, MLPSpec
from .optim import Optimizer
from .optim import from_config as optimizer_from_config
from .training import GAN, HISTORY, TrainConfig, host_forward

FORMAT = "minigan-checkpoint"
FORMAT_VERSION = 1


class NotFiniteState(ValueError):
    """``save`` refused a state holding NaN or inf: ``key`` names the entry (e.g. ``G/param/0.W``),
    ``path`` the checkpoint that was not written."""

    def __init__(self, key: str, path: str) -> None:
        self.key, self.path = key, path
        super().__init__(f"gan: {key} contains NaN or inf; not saving a diverged state to {path}")


_FINGERPRINTS: weakref.WeakKeyDictionary[Dataset, dict[str, Any]] = weakref.WeakKeyDictionary()


def data_fingerprint(data: Dataset) -> dict[str, Any] | None:
    """What identifies the rows a run trains on, for a table of rows (``ArrayDataset``, e.g. a
    ``--data`` file): ``{"rows": training rows, "held_out": rows kept out, "sha256": of both}``,
    the training rows as the networks see them (standardized, in the run's float dtype) and the
    held-out ones in the data's own scale. None for data drawn from a distribution. Computed once
    a dataset (a 2M × 10 table: about 0.2 s)."""
    if not isinstance(data, ArrayDataset):
        return None
    if data in _FINGERPRINTS:
        return _FINGERPRINTS[data]
    points = np.ascontiguousarray(data.backend.to_numpy(data.points))
    held = np.ascontiguousarray(np.asarray(getattr(data, "held_out", np.zeros((0, data.dim))), np.float64))
    h = hashlib.sha256()
    for a in (points, held):
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    fp = {"rows": int(points.shape[0]), "held_out": int(held.shape[0]), "sha256": h.hexdigest()}
    _FINGERPRINTS[data] = fp
    return fp


def _data_info(gan: GAN) -> dict[str, Any]:
    """The ``data`` entry: the dimension, whether the config made the data and, for a table of
    rows, its columns' shift and scale and its fingerprint."""
    info: dict[str, Any] = {"dim": gan.data.dim, "from_config": gan.data_from_config}
    if hasattr(gan.data, "shift") and hasattr(gan.data, "scale"):
        info.update(shift=gan.data.shift.tolist(), scale=gan.data.scale.tolist())
    fp = data_fingerprint(gan.data)
    if fp is not None:
        info["fingerprint"] = fp
    return info


def check_same_data(info: dict[str, Any], data: Dataset, where: str) -> None:
    """A ValueError ``"[<where>: ]the run trained on <file>, which has changed since (...)"`` if the
    rows of ``data`` are not the ones recorded in ``info`` (a checkpoint's ``data`` entry);
    nothing when it recorded none (a checkpoint from before the fingerprint was kept)."""
    held = info.get("fingerprint")
    if not isinstance(held, dict):
        return
    now = data_fingerprint(data)
    if now == held:
        return
    name = getattr(data, "path", None) or "its data"
    if now is None or (now["rows"], now["held_out"]) != (held.get("rows"), held.get("held_out")):
        what = (
            f"{held.get('rows')} training and {held.get('held_out')} held-out rows then, "
            f"{now['rows'] if now else '?'} and {now['held_out'] if now else '?'} now"
        )
    else:
        scale = [np.asarray(getattr(data, k, [])).tolist() for k in ("shift", "scale")]
        other = scale != [info.get("shift", scale[0]), info.get("scale", scale[1])]
        what = "as many rows, other values" + (" and another scale" if other else "")
    raise ValueError(
        f"{where + ': ' if where else ''}the run trained on {name}, which has changed since ({what}); "
        "restore the rows it trained on, or start a new run on these"
    )


def _str(s: str) -> np.ndarray:
    """A string as a 0-d NumPy unicode array (loads without pickles)."""
    return np.array(s, dtype=np.str_)


def _state_arrays(gan: GAN) -> dict[str, Any]:
    """Every entry of the checkpoint except the manifest, as NumPy arrays."""
    b = gan.backend
    out = {
        "format": _str(FORMAT),
        "version": np.array(FORMAT_VERSION, dtype=np.int64),
        "config": _str(json.dumps(gan.config.to_dict())),
        "backend": _str(b.spec),
        "step": np.array(gan.step, dtype=np.int64),
        "seconds": np.array(gan.seconds, dtype=np.float64),  # wall time of training so far
        "rng": _str(gan.rng.state()),
        "history": np.asarray(gan.history, dtype=np.float64).reshape(-1, len(HISTORY)),
        "history_columns": _str(json.dumps(list(HISTORY))),
        "G/spec": _str(json.dumps(gan.G.spec.to_dict())),
        "D/spec": _str(json.dumps(gan.D.spec.to_dict())),
        "data": _str(json.dumps(_data_info(gan))),
        "minigan_version": _str(__version__),
    }
    for net_name, net in (("G", gan.G), ("D", gan.D)):
        for name, p in net.params().items():
            out[f"{net_name}/param/{name}"] = b.to_numpy(p)
        for name, v in net.buffers().items():
            out[f"{net_name}/buffer/{name}"] = b.to_numpy(v)
    for opt_name, opt in (("g_opt", gan.g_opt), ("d_opt", gan.d_opt)):
        out[f"{opt_name}/config"] = _str(json.dumps(opt.config()))
        for key, a in opt.state_dict().items():
            out[f"{opt_name}/{key}"] = np.array(a, dtype=np.int64) if key == "t" else b.to_numpy(a)
    return out


def _describe(a: np.ndarray) -> list:
    return [list(a.shape), "str" if a.dtype.kind == "U" else a.dtype.name]


def save(gan: GAN, path: str | os.PathLike[str]) -> str:
    """Write the whole state of ``gan`` to ``path`` (a ``.npz`` file), atomically.

    Pending history rows are flushed first (this may raise ``DivergenceError``, in which
    case nothing is written); a state with NaN or inf raises ``NotFiniteState`` and writes
    nothing. The file is flushed to the disk before it replaces the old one
    (``files.atomic_write``). Returns the path; an OSError names ``path``.
    """
    if not isinstance(gan, GAN):
        raise TypeError(f"gan: expected a GAN, got {type(gan).__name__}")
    path = os.fspath(path)
    gan.flush()
    arrays = _state_arrays(gan)
    for key, a in arrays.items():
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise NotFiniteState(key, path)
    arrays["manifest"] = _str(json.dumps({k: _describe(a) for k, a in arrays.items()}))
    return atomic_write(path, lambda f: np.savez(f, **arrays), fsync=True)


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------
class _Reader:
    """The arrays of a checkpoint file, with errors that name the file."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:  # FileNotFoundError passes through
            head = f.read(6)
        if head[:4] != b"PK\x03\x04" and head != b"\x93NUMPY":
            what = "an empty file" if not head else f"a file starting with {head!r}"
            raise self.error(f"not an .npz archive ({what})")
        try:
            z = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            raise
        except Exception as e:  # noqa: BLE001 - truncated zip, pickles, text: all "unreadable"
            raise self.error(f"not a readable .npz file ({type(e).__name__}: {e})") from None
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise self.error("a single .npy array, not an .npz archive")
        try:
            with z:
                self.arrays = {k: z[k] for k in z.files}
        except Exception as e:  # noqa: BLE001 - a damaged member (bad CRC, cut short, pickled)
            raise self.error(f"not a readable .npz file ({type(e).__name__}: {e})") from None

    def error(self, problem: str) -> ValueError:
        return ValueError(f"checkpoint {self.path}: {problem}")

    def get(self, key):
        if key not in self.arrays:
            raise self.error(f"missing entry {key!r}")
        return self.arrays[key]

    def string(self, key: str) -> str:
        a = self.get(key)
        if a.dtype.kind != "U" or a.shape != ():
            raise self.error(f"entry {key!r}: expected a string, got dtype {a.dtype} and shape {a.shape}")
        return str(a)

    def json(self, key):
        try:
            return json.loads(self.string(key))
        except json.JSONDecodeError as e:
            raise self.error(f"entry {key!r}: not valid JSON ({e})") from None

    def integer(self, key: str) -> int:
        a = self.get(key)
        if a.shape != () or a.dtype.kind not in "iu":
            raise self.error(
                f"entry {key!r}: expected an integer scalar, got dtype {a.dtype} and shape {a.shape}"
            )
        return int(a)


def _check_manifest(r: _Reader) -> None:
    manifest = r.json("manifest")
    if not isinstance(manifest, dict):
        raise r.error("entry 'manifest': expected a JSON object")
    present = set(r.arrays) - {"manifest"}
    missing = sorted(set(manifest) - present)
    extra = sorted(present - set(manifest))
    if missing:
        raise r.error(f"missing entr{'y' if len(missing) == 1 else 'ies'} {', '.join(map(repr, missing))}")
    if extra:
        raise r.error(f"unexpected entr{'y' if len(extra) == 1 else 'ies'} {', '.join(map(repr, extra))}")
    for key, want in manifest.items():
        got = _describe(r.arrays[key])
        if got != list(want):
            raise r.error(
                f"entry {key!r}: expected shape {tuple(want[0])} and dtype {want[1]}, "
                f"got shape {tuple(got[0])} and dtype {got[1]}"
            )


def _load_net(r: _Reader, prefix: str, net: MLP, backend: Backend, dtype_name: str) -> None:
    """Set every parameter and buffer of ``net`` from ``<prefix>/param|buffer/<name>``."""
    for kind, live, setter in (
        ("param", net.params(), net.set_param),
        ("buffer", net.buffers(), net.set_buffer),
    ):
        keys = {k for k in r.arrays if k.startswith(f"{prefix}/{kind}/")}
        want = {f"{prefix}/{kind}/{name}" for name in live}
        if keys != want:
            diff = sorted(want - keys) or sorted(keys - want)
            raise r.error(
                f"{prefix} {kind}s do not match the network the config builds "
                f"({'missing' if want - keys else 'unexpected'}: {', '.join(diff)})"
            )
        for name, cur in live.items():
            a = r.arrays[f"{prefix}/{kind}/{name}"]
            _check_array(r, f"{prefix}/{kind}/{name}", a, tuple(cur.shape), dtype_name)
            setter(name, backend.asarray(a, dtype=backend.float_dtype))


def _check_array(r, key, a, shape, dtype_name):
    if tuple(a.shape) != shape:
        raise r.error(f"entry {key!r}: expected shape {shape}, got {tuple(a.shape)}")
    if a.dtype.name != dtype_name:
        raise r.error(f"entry {key!r}: expected dtype {dtype_name}, got {a.dtype.name}")
    if not np.all(np.isfinite(a)):
        raise r.error(f"entry {key!r}: contains NaN or inf")


def _read_optimizer(r: _Reader, prefix: str) -> Optimizer:
    """The optimizer saved under ``prefix`` (its config and step count; its state arrays are
    checked against the network by ``_load_slots``)."""
    cfg = r.json(f"{prefix}/config")
    try:
        opt = optimizer_from_config(cfg)
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise r.error(f"entry '{prefix}/config': not an optimizer configuration ({e})") from None
    t = r.integer(f"{prefix}/t")
    if t < 0:
        raise r.error(f"entry '{prefix}/t': expected a non-negative step count, got {t}")
    opt.t = t
    return opt


def _load_slots(
    r: _Reader, prefix: str, opt: Optimizer, params: dict[str, Any], backend: Backend, dtype_name: str
) -> None:
    """Set the optimizer's state arrays ``<prefix>/<slot>/<param>``, each checked against the parameter."""
    state: dict[str, Any] = {"t": opt.t}
    for key in r.arrays:
        if not key.startswith(prefix + "/") or key in (f"{prefix}/config", f"{prefix}/t"):
            continue
        slot, _, name = key[len(prefix) + 1 :].partition("/")
        if name not in params:
            raise r.error(f"entry {key!r}: no parameter called {name!r} in the network")
        _check_array(r, key, r.arrays[key], tuple(params[name].shape), dtype_name)
        state[f"{slot}/{name}"] = r.arrays[key]
    opt.load_state_dict(state, backend)


def checkpoint_file(path: str | os.PathLike[str]) -> str:
    """The checkpoint ``path`` names: the file itself, or ``checkpoint.npz`` in the run folder
    ``path``. FileNotFoundError (the path) when nothing is there; a ValueError for a folder without
    a checkpoint file; an OSError of the system for a path that cannot be looked at (a loop of
    symbolic links, a folder without permission)."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        os.stat(path)  # FileNotFoundError, or the OSError that says why it cannot be read
        return path
    inside = os.path.join(path, "checkpoint.npz")
    if os.path.isdir(inside):
        raise ValueError(f"{inside} is a folder, not a checkpoint file")
    if not os.path.lexists(inside):
        raise ValueError(f"{path} is a folder without checkpoint.npz (not a run folder)")
    os.stat(inside)
    return inside


def _open(path: str | os.PathLike[str]) -> _Reader:
    """The reader of a checkpoint (or of a run folder's) whose format, version and manifest are checked."""
    r = _Reader(checkpoint_file(path))
    if "format" not in r.arrays or r.string("format") != FORMAT:
        raise r.error(f"not a minigan checkpoint (no 'format' entry saying {FORMAT!r})")
    version = r.integer("version")
    if version > FORMAT_VERSION:
        raise r.error(
            f"format version {version} is newer than this minigan reads ({FORMAT_VERSION}): upgrade minigan"
        )
    if version < 1:
        raise r.error(f"format version {version} is not a valid version")
    _check_manifest(r)
    return r


def _config(r: _Reader, backend: str | Backend | None) -> TrainConfig:
    cfg = r.json("config")
    if not isinstance(cfg, dict):
        raise r.error("entry 'config': expected a JSON object")
    if backend is not None:
        cfg["backend"] = get_backend(backend).spec
    # a field newer than the file takes the value that file's run had, not today's default:
    # a checkpoint without "penalty" was written before penalties existed (the default is now R1)
    cfg.setdefault("penalty", None)
    try:
        return TrainConfig.from_dict(cfg)
    except (ValueError, TypeError) as e:
        raise r.error(f"entry 'config': not a valid TrainConfig ({e})") from None


def _networks(r: _Reader, config: TrainConfig, rng: Random | None = None) -> list[MLP]:
    """G and D as saved: built from their specs (older files: from the config) with ``rng`` (their
    dropout layers draw from it), parameters loaded."""
    b = get_backend(config.backend, dtype=config.dtype)
    rng = rng if rng is not None else b.random(0)
    dim = int(r.get("D/param/0.W").shape[0]) if "D/param/0.W" in r.arrays else None
    nets = []
    for name in ("G", "D"):
        if f"{name}/spec" in r.arrays:
            try:
                net = MLP(MLPSpec(**r.json(f"{name}/spec")), b, rng=rng)
            except (ValueError, TypeError) as e:
                raise r.error(f"entry '{name}/spec': not a valid MLPSpec ({e})") from None
        elif dim is None:
            raise r.error("missing entry 'D/param/0.W'")
        else:
            build = config.build_generator if name == "G" else config.build_discriminator
            net = build(dim, b, rng)
        _load_net(r, name, net, b, config.dtype)
        nets.append(net)
    return nets


def load(
    path: str | os.PathLike[str], backend: str | Backend | None = None, data: ArrayLike | None = None
) -> GAN:
    """The GAN saved in ``path``, ready to train on; ``backend`` (a name or Backend)
    overrides the one in its config (default: the one it was trained on). A run whose data was
    given in Python (``GAN(data=...)``) needs it again: ``data``.

    Raises ValueError, naming the file and the problem, for a truncated, foreign or
    tampered file, and for a run whose data file is gone or has changed since (``check_same_data``);
    FileNotFoundError if there is none. ``path`` may be a run folder (``checkpoint_file``).
    """
    r = _open(path)
    config = _config(r, backend)
    info = r.json("data") if "data" in r.arrays else {"from_config": True}
    if data is None and not info.get("from_config", True):
        raise r.error(
            "the run trained on data given in Python (GAN(data=...)): pass it again, "
            "checkpoint.load(path, data=...)"
        )
    rng = get_backend(config.backend, dtype=config.dtype).random(config.seed)  # the run's: restored below
    fresh = rng.state()
    G, D = _networks(r, config, rng)
    rng.set_state(fresh)  # a finite training set is drawn from the generator as it was new
    g_opt = _read_optimizer(r, "g_opt")
    d_opt = _read_optimizer(r, "d_opt")
    try:
        gan = GAN(config, G=G, D=D, data=data, g_opt=g_opt, d_opt=d_opt, rng=rng)
    except OSError as e:  # the config's data file: gone, or unreadable
        raise r.error(_unreadable_data(config, e)) from None
    except ValueError as e:
        if config.dataset != "file":
            raise
        raise r.error(f"its data file no longer reads as it did ({e})") from None
    if data is None:
        check_same_data(info, gan.data, f"checkpoint {r.path}")
    b = gan.backend
    _load_slots(r, "g_opt", g_opt, gan.G.params(), b, config.dtype)
    _load_slots(r, "d_opt", d_opt, gan.D.params(), b, config.dtype)

    step = r.integer("step")
    history = r.get("history")
    if r.json("history_columns") != list(HISTORY):
        raise r.error(f"entry 'history_columns': expected {list(HISTORY)}")
    if history.dtype != np.float64 or history.shape != (step, len(HISTORY)):
        raise r.error(
            f"entry 'history': expected float64 of shape ({step}, {len(HISTORY)}), "
            f"got {history.dtype} of shape {history.shape}"
        )
    try:
        gan.rng.set_state(r.string("rng"))
    except ValueError as e:
        raise r.error(f"entry 'rng': {e}") from None
    gan.step = step
    gan.seconds = _seconds(r)
    gan.set_history(history.tolist())
    return gan


def _seconds(r: _Reader) -> float:
    """The training time kept in the file; 0 in a checkpoint written before it was kept."""
    seconds = r.arrays.get("seconds")
    ok = (
        seconds is not None
        and seconds.shape == ()
        and seconds.dtype.kind == "f"
        and bool(np.isfinite(seconds))
    )
    return float(seconds) if seconds is not None and ok else 0.0


def _unreadable_data(config: TrainConfig, e: OSError) -> str:
    """Why the data a run trained on cannot be made again: its file is missing or unreadable."""
    path = config.data_params.get("path") or e.filename
    if isinstance(e, FileNotFoundError):
        return f"the run trained on the data file {path}, which is missing (no such file)"
    return f"the run trained on the data file {path}, which cannot be read ({e.strerror or e})"


class SavedGAN:
    """A trained generator and discriminator read from a checkpoint (``minigan.load``).

    ``sample(n, seed=0)``: n generated samples, (n, data_dim) NumPy; ``discriminate(x)``:
    D(x) = σ(logit) for x (N, data_dim); ``config``, ``step``, ``G``, ``D``, ``backend``,
    ``minigan_version`` (None for files written before it was recorded). ``data`` is the data set
    the config names, made on first use (its true distribution, for ``metrics.evaluate``: a
    finite training set is not redrawn), or None for data that was given in Python; a data file
    that is gone or changed since the checkpoint is a ValueError naming it.
    """

    def __init__(
        self, config: TrainConfig, G: MLP, D: MLP, step: int, info: dict[str, Any], version: str | None
    ) -> None:
        self.config, self.G, self.D, self.step = config, G, D, step
        self.backend, self.minigan_version = G.backend, version
        self.noise_dim, self.data_dim = G.spec.sizes[0], G.spec.sizes[-1]
        self._info = info
        self._data: Dataset | None = None
        self._shift = np.asarray(info.get("shift", 0.0), dtype=np.float64)
        self._scale = np.asarray(info.get("scale", 1.0), dtype=np.float64)

    @property
    def data(self) -> Dataset | None:
        if self._data is None and self._info.get("from_config", True):
            params = {k: v for k, v in self.config.data_params.items() if k != "train_size"}
            try:
                data = make_dataset(self.config.dataset, self.backend, self.backend.random(0), **params)
            except OSError as e:
                raise ValueError(_unreadable_data(self.config, e)) from None
            check_same_data(self._info, data, "")
            self._data = data
        return self._data

    def sample(self, n: int, seed: int | None = 0) -> np.ndarray:
        """n samples (n, data_dim) float64 in the data's own scale; G runs on ``training.SAMPLE_CHUNK``
        rows of the noise at a time (``training.host_forward``), so its activations stay small."""
        n = check_int("n", n, 1, what="a positive number of samples")
        z = self.backend.random(seed).normal((n, self.noise_dim))
        return host_forward(self.G, z) * self._scale + self._shift  # in the data's own scale

    def discriminate(self, x: ArrayLike) -> np.ndarray:
        encoded = network_input(x, self._encode, self.backend, self.data_dim)  # checked: one line
        xb = self.backend.asarray(encoded, dtype=self.backend.float_dtype)
        return self.backend.to_numpy(sigmoid(self.D.forward(xb, train=False)[0]))[:, 0]

    def _encode(self, x: np.ndarray) -> np.ndarray:
        """Points in the data's own scale as the networks see them: (x − shift) / scale."""
        return (x - self._shift) / self._scale

    def __repr__(self) -> str:
        return (
            f"SavedGAN({self.config.dataset}, step {self.step}, G {self.G.spec.sizes}, D {self.D.spec.sizes})"
        )


def load_saved(path: str | os.PathLike[str], backend: str | Backend | None = None) -> SavedGAN:
    """The networks of the checkpoint ``path`` (or of ``path/checkpoint.npz`` for a run folder),
    without data set or optimizers: ``minigan.load``."""
    r = _open(path)
    config = _config(r, backend)
    G, D = _networks(r, config)
    info = r.json("data") if "data" in r.arrays else {"from_config": True}
    version = r.string("minigan_version") if "minigan_version" in r.arrays else None
    return SavedGAN(config, G, D, r.integer("step"), info, version)

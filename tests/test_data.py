"""Datasets: shapes, dtypes and devices on every backend; presets; finite sets; digits."""

import math
import os
import subprocess
import sys

import numpy as np
import pytest

from minigan import data
from minigan.backend import get_backend
from minigan.training import GAN, TrainConfig

DIMS = {"gaussian": 1, "ring": 2, "grid": 2, "pacgan_ring": 2, "pacgan_grid": 2, "digits": 64}


def _needs(name):
    if name == "digits":
        pytest.importorskip("sklearn")


@pytest.mark.parametrize("name", data.DATASETS)
def test_samples_live_on_the_backend(backend, name):
    _needs(name)
    d = data.make_dataset(name, backend, backend.random(0))
    x = d.sample(7)
    assert tuple(x.shape) == (7, DIMS[name]) == (7, d.dim)
    assert x.dtype == backend.float_dtype
    if backend.name == "strict":
        assert x.device == backend.device
    ref = d.reference(5, seed=1)
    assert isinstance(ref, np.ndarray) and ref.shape == (5, d.dim)


def test_datasets_lists_every_name():
    assert set(data.DATASETS) == set(DIMS)


def test_presets_follow_pacgan():
    b = get_backend("numpy")
    ring = data.make_dataset("pacgan_ring", b, b.random(0))
    # PacGAN (Lin et al. 2018): means (cos 2πi/8, sin 2πi/8), std 0.01, 100,000 training points
    assert np.allclose(np.linalg.norm(ring.means, axis=1), 1.0) and ring.means.shape == (8, 2)
    assert np.allclose(ring.means[2], [0.0, 1.0])
    assert ring.std == 0.01 and ring.config()["train_size"] == 100_000
    grid = data.make_dataset("pacgan_grid", b, b.random(0))
    assert sorted(set(grid.means.ravel().tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert grid.means.shape == (25, 2) and grid.std == 0.05
    default = data.make_dataset("ring", b, b.random(0))
    assert default.radius == 2.0 and default.std == 0.02 and not hasattr(default, "points")


def test_ring_samples_sit_at_their_modes():
    b = get_backend("numpy", dtype="float64")
    d = data.make_dataset("ring", b, b.random(0), std=0.02)
    x = d.sample(4000)
    dist = np.linalg.norm(x[:, None, :] - d.means[None], axis=2)
    k = dist.argmin(axis=1)
    # every mode drawn about equally; distance to the mode ~ std·chi_2 (mean std·sqrt(π/2))
    assert np.bincount(k, minlength=8).min() > 400
    assert dist.min(axis=1).mean() == pytest.approx(0.02 * math.sqrt(math.pi / 2), rel=0.05)


def test_params_override_presets_and_reference_leaves_the_stream_alone():
    b = get_backend("numpy")
    rng = b.random(3)
    d = data.make_dataset("pacgan_ring", b, rng, std=0.05, train_size=10)
    assert d.std == 0.05 and d.n == 10
    before = rng.state()
    d.reference(100, seed=5)
    assert rng.state() == before


def test_finite_training_set_resamples_fixed_points(backend):
    d = data.make_dataset("ring", backend, backend.random(0), train_size=20)
    points = backend.to_numpy(d.points)
    assert points.shape == (20, 2)
    x = backend.to_numpy(d.sample(200))
    # every minibatch row is one of the 20 points, and more than one of them is used
    match = (np.abs(x[:, None, :] - points[None]).max(axis=2) == 0).any(axis=1)
    assert match.all()
    assert len({tuple(r) for r in x.tolist()}) > 1
    assert d.sample(3).dtype == backend.float_dtype


def test_digits_scaled_for_tanh():
    pytest.importorskip("sklearn")
    b = get_backend("numpy")
    d = data.make_dataset("digits", b, b.random(0))
    assert d.images.shape == (1797, 64) and d.output == "tanh"
    assert d.images.min() == -1.0 and d.images.max() == 1.0  # pixel values 0..16 -> v/8 − 1
    sevens = data.make_dataset("digits", b, b.random(0), digit=7)
    assert 150 < sevens.images.shape[0] < 200


def test_digits_without_sklearn_names_the_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # import now fails
    b = get_backend("numpy")
    with pytest.raises(
        ImportError, match=r"needs scikit-learn, which is not installed: pip install scikit-learn$"
    ):
        data.make_dataset("digits", b, b.random(0))


def test_a_gan_trains_on_digits_with_a_tanh_output():
    pytest.importorskip("sklearn")
    gan = GAN(
        TrainConfig(
            dataset="digits",
            g_output="tanh",
            noise_dim=8,
            g_hidden=(32,),
            d_hidden=(32,),
            batch_size=16,
            steps=2,
        )
    )
    gan.train()
    x = gan.sample(10)
    assert x.shape == (10, 64) and np.abs(x).max() <= 1.0


@pytest.mark.parametrize(
    "name, params, match",
    [
        ("moons", {}, "dataset"),
        ("ring", {"std": 0.0}, "std"),
        ("ring", {"modes": 0}, "modes"),
        ("ring", {"radius": -1.0}, "radius"),
        ("grid", {"side": 2.5}, "side"),
        ("gaussian", {"mean": float("nan")}, "mean"),
        ("ring", {"train_size": 0}, "train_size"),
        ("ring", {"colour": "red"}, "colour"),
        ("digits", {"digit": 10}, "digit"),
    ],
)
def test_bad_parameters(name, params, match):
    if name == "digits":
        pytest.importorskip("sklearn")
    b = get_backend("numpy")
    with pytest.raises(ValueError, match=match):
        data.make_dataset(name, b, b.random(0), **params)


def test_bad_batch_size():
    b = get_backend("numpy")
    d = data.make_dataset("ring", b, b.random(0))
    for m in (0, -3, 2.0, True):
        with pytest.raises(ValueError, match="m"):
            d.sample(m)


# -- your own data: the faults of a data file, each one line naming the file -------------------------------
NP32 = get_backend("numpy")
ROWS = np.random.default_rng(0).normal(size=(300, 2))


def _csv(tmp_path, text, name="t.csv", encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return str(p)


def _table(first=""):
    """``first`` and then the 300 rows of ROWS, as CSV text."""
    return first + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in ROWS)


def _file(path, **kw):
    return data.FileDataset(NP32, NP32.random(0), path, **kw)


def _refused(path, message, **kw):
    """FileDataset refuses the file with one line: 'data: PATH: message' exactly."""
    with pytest.raises(ValueError) as e:
        _file(path, **kw)
    assert str(e.value) == f"data: {path}: {message}"


def test_a_csv_with_a_byte_order_mark_keeps_its_first_row(tmp_path):
    p = _csv(tmp_path, _table(), encoding="utf-8-sig")
    np.testing.assert_array_equal(data.load_table(p), ROWS)  # 300 rows: none read as a header
    named = _csv(tmp_path, _table("x,y\n"), "named.csv", encoding="utf-8-sig")
    np.testing.assert_array_equal(data.load_table(named), ROWS)  # '\ufeffx' is a name, not a number


def test_a_header_is_a_row_of_names_only(tmp_path):
    np.testing.assert_array_equal(
        data.load_table(_csv(tmp_path, _table(",y\n"))), ROWS
    )  # an index column's blank
    _refused(
        _csv(tmp_path, _table("x,1\n")),
        "column 1 is not numeric: 'x' in row 1; a header row holds names only",
    )


def test_an_empty_cell_is_an_error_in_the_first_row_as_in_any(tmp_path):
    _refused(
        _csv(tmp_path, "1.0,,2.0\n" + _table().replace("\n", ",0\n")),
        "empty cell in row 1, column 2: expected a number",
    )
    body = _table().replace("\n", ",0\n").splitlines(keepends=True)
    body[101] = "1.0,,2.0\n"
    _refused(_csv(tmp_path, "".join(body), "late.csv"), "empty cell in row 102, column 2: expected a number")
    with_header = _csv(tmp_path, "a,b,c\n" + "".join(body), "head.csv")
    _refused(with_header, "empty cell in row 102 (line 103), column 'b' (2): expected a number")


@pytest.mark.parametrize("cell", ["1_000", "１２", "٣", "0x10", "1e", "--1"])
def test_numbers_are_plain_decimals(tmp_path, cell):
    """float() takes '1_000' and full-width or Arabic-Indic digits; a data file must not."""
    p = _csv(tmp_path, _table(f"1,{cell}\n"))
    with pytest.raises(ValueError, match=rf"^data: .*t\.csv: column 2 is not numeric: {cell!r} in row 1"):
        _file(p)


def test_plain_numbers_are_read_as_float_reads_them(tmp_path):
    p = _csv(tmp_path, "a,b\n1,-2.5\n.5,+3e-2\n 7. ,1E3\n")
    np.testing.assert_array_equal(data.load_table(p), [[1, -2.5], [0.5, 0.03], [7, 1000]])


def test_the_underscore_gets_its_own_hint(tmp_path):
    _refused(
        _csv(tmp_path, _table("1_000,2\n")),
        "column 1 is not numeric: '1_000' in row 1; write plain decimal digits, without '_'",
    )


def test_a_csv_that_is_not_utf8_is_named(tmp_path):
    _refused(
        _csv(tmp_path, _table("café,b\n"), encoding="latin-1"),
        "not UTF-8 text (byte 0xe9 at offset 3): save the table as UTF-8",
    )


def test_rows_count_from_one_and_csv_lines_are_added_where_they_differ(tmp_path):
    text = _table("a,b\n\n").splitlines(keepends=True)
    text[5] = "1,nan\n"  # row 4: the header and a blank line come first
    _refused(_csv(tmp_path, "".join(text)), "NaN or inf in row 4 (line 6), column 2")
    _refused(_csv(tmp_path, "1,2\n3,inf\n" + _table(), "plain.csv"), "NaN or inf in row 2, column 2")
    x = ROWS.copy()
    x[6, 1] = np.nan
    np.save(tmp_path / "nan.npy", x)
    _refused(str(tmp_path / "nan.npy"), "NaN or inf in row 7, column 2")


def test_complex_and_object_arrays_are_refused(tmp_path):
    np.save(tmp_path / "c.npy", ROWS + 1j)
    _refused(
        str(tmp_path / "c.npy"),
        "complex numbers (dtype complex128): expected real ones (save the real and imaginary parts "
        "as columns of their own)",
    )
    np.save(tmp_path / "o.npy", np.array([[1, "a"]], dtype=object), allow_pickle=True)
    _refused(str(tmp_path / "o.npy"), "holds Python objects (dtype object), not numbers")
    np.savez(tmp_path / "o.npz", x=np.array([[1, "a"]], dtype=object))
    _refused(str(tmp_path / "o.npz"), "holds Python objects (dtype object), not numbers")


def test_a_key_is_for_an_npz_only(tmp_path):
    np.save(tmp_path / "a.npy", ROWS)
    p = str(tmp_path / "a.npy")
    _refused(
        p,
        "a .npy file holds one table, so it takes no key (:x); FILE:key names an array of a .npz file",
        key="x",
    )
    _refused(
        _csv(tmp_path, _table()),
        "a .csv file holds one table, so it takes no key (:x); FILE:key names an array of a .npz file",
        key="x",
    )


def test_files_that_are_not_numpy_files_say_so(tmp_path):
    (tmp_path / "text.npy").write_text("1,2\n3,4\n")
    _refused(
        str(tmp_path / "text.npy"),
        "not a NumPy .npy file (it lacks the header np.save writes); a text table wants the .csv extension",
    )
    (tmp_path / "text.npz").write_text("1,2\n")
    _refused(
        str(tmp_path / "text.npz"), "not a NumPy .npz file (np.savez writes a zip archive of .npy files)"
    )
    np.save(tmp_path / "cut.npy", ROWS)
    (tmp_path / "cut.npy").write_bytes((tmp_path / "cut.npy").read_bytes()[:300])
    with pytest.raises(ValueError, match=r"^data: .*cut\.npy: a damaged NumPy file \("):
        _file(str(tmp_path / "cut.npy"))


def _column(tmp_path, values, name="col.npy"):
    x = ROWS.copy()
    x[:, 1] = values
    np.save(tmp_path / name, x)
    return str(tmp_path / name)


def test_values_that_overflow(tmp_path):
    huge = np.full(300, 1e308)
    huge[5] = -1e308
    p = _column(tmp_path, huge)
    _refused(
        p,
        "column 2 overflows when standardized: its mean or std exceeds float64 (it reaches 1e+308 in "
        "row 1); rescale it",
    )
    _refused(
        p,
        "1e+308 in row 1, column 2 overflows float32, the dtype the networks compute in (its largest value "
        "is 3.4e+38): rescale the column, or standardize it",
        standardize=False,
    )
    spread = _column(tmp_path, ROWS[:, 1] * 1e300, "spread.npy")  # finite, but its squares are not
    with pytest.raises(ValueError, match=r"^data: .*spread\.npy: column 2 overflows when standardized: "):
        _file(spread)
    with pytest.raises(ValueError, match=r"^data: .*spread\.npy: .* in row 1, column 2 overflows float32, "):
        _file(spread, standardize=False)


def test_values_that_float64_holds_and_float32_does_not_are_fine_standardized(tmp_path):
    d = _file(_column(tmp_path, ROWS[:, 1] * 1e39 + 1e40))
    assert np.all(np.isfinite(d.backend.to_numpy(d.points))) and d.scale[1] == pytest.approx(1e39, rel=0.2)
    with pytest.raises(ValueError, match=r"1e\+40 in row 8, column 2 overflows float32"):
        _file(_column(tmp_path, np.where(np.arange(300) == 7, 1e40, 1.0), "one.npy"), standardize=False)


def test_a_spread_float32_cannot_represent(tmp_path):
    msg = (
        "column 2 varies by only {:.3g}: its spread is below what float32 can represent (1.2e-38); rescale it"
    )
    tiny = ROWS[:, 1] * 1e-300
    p = _column(tmp_path, tiny)
    _refused(p, msg.format(np.ptp(tiny[_train_rows(300)])))
    _refused(p, msg.format(np.ptp(tiny[_train_rows(300)])), standardize=False)
    _refused(
        _column(tmp_path, np.full(300, 1e-300), "same.npy"),
        "column 2 is constant (std 0): it cannot be standardized (drop it, or keep the raw scale)",
    )


def _train_rows(n, holdout=0.1):
    """The rows FileDataset trains on: its seeded split (``np.random.default_rng(0)``)."""
    return np.random.default_rng(0).permutation(n)[int(round(holdout * n)) :]


# -- arrays given in Python ---------------------------------------------------------------------------------
def test_a_masked_array_is_refused_unless_nothing_is_masked():
    x = np.ma.masked_invalid(np.array([[0.0, 1.0], [np.nan, 2.0], [3.0, 4.0]]))
    with pytest.raises(ValueError) as e:
        data.ArrayDataset(NP32, NP32.random(0), x)
    assert str(e.value) == (
        "data: a masked array with 1 masked value(s): expected plain values; drop the masked rows "
        "first, x[~np.ma.getmaskarray(x).any(axis=1)]"
    )
    kept = data.ArrayDataset(NP32, NP32.random(0), x[~np.ma.getmaskarray(x).any(axis=1)])
    np.testing.assert_array_equal(kept.points, [[0, 1], [3, 4]])


@pytest.mark.parametrize(
    "x, message",
    [
        ([[0.0, 1.0], [2.0, np.nan]], "data: NaN or inf in row 2, column 2"),
        (
            [[0.0, 1e300]],
            "data: 1e+300 in row 1, column 2 overflows float32, the dtype the networks compute in (its "
            "largest value is 3.4e+38)",
        ),
        ([[1j, 0]], "data: expected real numbers, got dtype complex128"),
    ],
)
def test_arrays_with_values_the_networks_cannot_take(x, message):
    with pytest.raises(ValueError) as e:
        data.ArrayDataset(NP32, NP32.random(0), np.asarray(x))
    assert str(e.value) == message


def test_network_input_refuses_what_d_cannot_score(tmp_path):
    """What GAN.discriminate and SavedGAN.discriminate are to hand D: finite points whose encoding
    float32 can hold (else D(x) is NaN)."""
    ring = data.make_dataset("ring", NP32, NP32.random(0))
    np.testing.assert_array_equal(ring.network_input([[1.0, 2.0]]), [[1.0, 2.0]])
    for x, message in [
        ([[0.0, np.nan]], "x: NaN or inf in row 1, column 2"),
        ([[0.0, 1.0], [np.inf, 0.0]], "x: NaN or inf in row 2, column 1"),
        (
            [[1e300, 0.0]],
            "x: 1e+300 in row 1, column 1 overflows float32 on the scale the networks see (1e+300; the "
            "largest is 3.4e+38)",
        ),
        ([[1.0, 2.0, 3.0]], "x: expected an array of shape (N, 2) with N >= 1, got (1, 3)"),
        ([["a", "b"]], "x: expected real numbers, got dtype <U1"),
    ]:
        with pytest.raises(ValueError) as e:
            ring.network_input(x)
        assert str(e.value) == message
    small = _file(_column(tmp_path, ROWS[:, 1] * 1e-30))  # standardized: 1e-30 apart is 1 apart
    with pytest.raises(ValueError, match=r"^x: 1e\+10 in row 1, column 2 overflows float32 on the scale"):
        small.network_input([[0.0, 1e10]])


# -- the same faults through the command: exit 2 and the one line ------------------------------------------
def _train(tmp_path, data_arg):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "minigan",
            "train",
            "--data",
            data_arg,
            "--steps",
            "2",
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(data.__file__))},
    )


@pytest.mark.parametrize(
    "text, line",
    [
        ("1.0,,2.0\n" + _table().replace("\n", ",0\n"), "empty cell in row 1, column 2: expected a number"),
        (
            _table("1_000,2\n"),
            "column 1 is not numeric: '1_000' in row 1; write plain decimal digits, without '_'",
        ),
    ],
)
def test_the_command_says_it_in_one_line_with_exit_2(tmp_path, text, line):
    p = _csv(tmp_path, text)
    r = _train(tmp_path, p)
    assert r.returncode == 2, r.stderr
    assert r.stderr.splitlines()[0] == f"minigan train: error: --data: {p}: {line}"
    assert "Traceback" not in r.stderr and "Warning" not in r.stderr


def test_the_command_refuses_a_key_for_a_npy_and_a_complex_npy(tmp_path):
    np.save(tmp_path / "c.npy", ROWS + 1j)
    r = _train(tmp_path, f"{tmp_path / 'c.npy'}")
    assert r.returncode == 2 and "complex numbers (dtype complex128)" in r.stderr.splitlines()[0]
    assert "ComplexWarning" not in r.stderr
    np.save(tmp_path / "a.npy", ROWS)
    r = _train(tmp_path, f"{tmp_path / 'a.npy'}:x")
    assert r.returncode == 2 and r.stderr.splitlines()[0].endswith(
        "takes no key (:x); FILE:key names an array of a .npz file"
    )

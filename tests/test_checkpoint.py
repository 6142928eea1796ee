"""Checkpoints: exact resume, cross-backend loading, atomic writes, clear errors on bad files."""

import json
import os

import numpy as np
import pytest

from minigan import checkpoint
from minigan.training import GAN, TrainConfig

# batch norm in G (buffers), dropout in D (draws from the run's generator), Adam (moments)
CFG = dict(
    g_hidden=(12, 12),
    d_hidden=(12, 12),
    batch_size=16,
    g_batch_norm=True,
    d_dropout=0.2,
    log_every=3,
    steps=0,
)


def _state(gan):
    out = {f"G/{k}": gan.backend.to_numpy(v) for k, v in {**gan.G.params(), **gan.G.buffers()}.items()}
    out.update({f"D/{k}": gan.backend.to_numpy(v) for k, v in gan.D.params().items()})
    for name, opt in (("g", gan.g_opt), ("d", gan.d_opt)):
        out.update({f"{name}/{k}": np.asarray(gan.backend.to_numpy(v)) for k, v in opt.state_dict().items()})
    return out


def _noise_only(gan, key):
    """Whether ``key`` is (the Adam state of) the bias of a Linear layer that feeds a BatchNorm, or
    that BatchNorm's running mean (which follows the bias): BatchNorm subtracts the batch mean, so
    that bias's true gradient is 0 and what it gets is rounding noise, which Adam scales up to
    full-size steps of random sign. Two backends whose engines round differently (numpy's fast
    ops, strict's plain formulas) agree on everything else, the network's output included."""
    layers = gan.G.layers
    for i in range(len(layers) - 1):
        if (
            type(layers[i + 1]).__name__ == "BatchNorm"
            and key[0].lower() == "g"
            and (key.endswith(f"{i}.b") or key.endswith(f"{i + 1}.running_mean"))
        ):
            return True
    return False


def _assert_same(a, b, **tol):
    sa, sb = _state(a), _state(b)
    assert sa.keys() == sb.keys()
    for k in sa:
        if tol and _noise_only(a, k):
            continue
        (np.testing.assert_allclose if tol else np.testing.assert_array_equal)(sa[k], sb[k], **tol, err_msg=k)


@pytest.fixture
def saved(tmp_path):
    gan = GAN(TrainConfig(**CFG))
    gan.train(4)
    path = tmp_path / "run.npz"
    checkpoint.save(gan, path)
    return gan, path


@pytest.mark.parametrize(
    "opt", [dict(optimizer="adam"), dict(optimizer="sgd", momentum=0.7, g_lr=0.05, d_lr=0.05)]
)
@pytest.mark.parametrize("mode", ["fresh", "simultaneous"])
def test_resume_equals_an_uninterrupted_run(tmp_path, opt, mode):
    cfg = TrainConfig(**CFG, **opt, mode=mode)
    whole = GAN(cfg).train(10)
    half = GAN(cfg).train(5)  # 5 steps: a log window (3) is still pending at the save
    checkpoint.save(half, tmp_path / "c.npz")
    resumed = checkpoint.load(tmp_path / "c.npz").train(5)
    assert resumed.step == 10
    np.testing.assert_array_equal(resumed.history_array(), whole.history_array())
    _assert_same(resumed, whole)
    assert resumed.rng.state() == whole.rng.state()


def test_resume_on_a_finite_training_set(tmp_path):
    cfg = TrainConfig(**CFG, dataset="pacgan_ring", data_params={"train_size": 500})
    whole = GAN(cfg).train(6)
    checkpoint.save(GAN(cfg).train(3), tmp_path / "c.npz")
    resumed = checkpoint.load(tmp_path / "c.npz").train(3)
    np.testing.assert_array_equal(resumed.history_array(), whole.history_array())


def test_a_checkpoint_moves_between_backends(saved, tmp_path):
    gan, path = saved
    dev = checkpoint.load(path, backend="strict:device1")
    assert dev.config.backend == "strict:device1"
    assert all(p.device == dev.backend.device for p in [*dev.G.params().values(), *dev.D.params().values()])
    assert all(a.device == dev.backend.device for a in dev.d_opt.slots["m"].values())
    _assert_same(dev, gan)
    dev.train(2)
    back = checkpoint.load(checkpoint.save(dev, tmp_path / "dev.npz"), backend="numpy")
    gan.train(2)
    assert back.config.backend == "numpy" and back.step == gan.step == 6
    # strict runs the plain formulas, numpy the engine's fast forms of them (engine.NumpyOps): the
    # same numbers up to float32 rounding, which two training steps grow to ~1e-5 relative
    _assert_same(back, gan, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(back.history_array(), gan.history_array(), rtol=1e-4, atol=1e-6)


def test_a_fresh_gan_round_trips(tmp_path):
    gan = GAN(TrainConfig(**CFG))
    loaded = checkpoint.load(checkpoint.save(gan, tmp_path / "c.npz"))
    assert loaded.step == 0 and loaded.history_array().shape == (0, 9)
    _assert_same(loaded, gan)


def test_save_is_atomic(saved, monkeypatch):
    gan, path = saved
    before = path.read_bytes()
    gan.train(1)

    def broken(f, **arrays):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        checkpoint.save(gan, path)
    assert path.read_bytes() == before  # the last good checkpoint is intact
    assert os.listdir(path.parent) == ["run.npz"]  # no temporary file left behind


def test_a_diverged_state_is_not_saved(saved):
    gan, path = saved
    before = path.read_bytes()
    gan.D.set_param("0.W", gan.D.params()["0.W"] * np.float32(np.nan), check=False)  # a NaN made on purpose
    with pytest.raises(ValueError, match="NaN or inf"):
        checkpoint.save(gan, path)
    assert path.read_bytes() == before


# -- bad files ----------------------------------------------------------------------------
def _rewrite(path, arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _arrays(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def test_truncated_file(saved):
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=rf"{path.name}.*not a readable \.npz"):
        checkpoint.load(path)


def test_flipped_byte_is_caught_by_the_zip_checksum(saved):
    _, path = saved
    data = bytearray(path.read_bytes())
    i = data.find(b"G/param/0.W.npy") + 200  # inside that member's array bytes
    data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=path.name):
        checkpoint.load(path)


@pytest.mark.parametrize(
    "content, match",
    [
        (b"step,L_D\n1,1.38\n", "not an .npz archive"),
        (b"", "empty file"),
        (None, "not a minigan checkpoint"),
    ],
)
def test_foreign_files(tmp_path, content, match):
    path = tmp_path / "foreign.npz"
    if content is None:
        _rewrite(path, {"a": np.arange(3), "b": np.zeros((2, 2))})
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=match) as e:
        checkpoint.load(path)
    assert str(path) in str(e.value)


def test_a_single_npy_is_refused(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(ValueError, match="not an .npz"):
        checkpoint.load(path)


def test_pickled_objects_are_refused(saved):
    _, path = saved
    a = _arrays(path)
    a["step"] = np.array([{"evil": 1}], dtype=object)
    _rewrite(path, a)
    with pytest.raises(ValueError, match=r"not a readable .*pickle"):
        checkpoint.load(path)


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        checkpoint.load("no/such/checkpoint.npz")


def test_missing_entry(saved):
    _, path = saved
    a = _arrays(path)
    del a["G/param/0.W"]
    _rewrite(path, a)
    with pytest.raises(ValueError, match=r"missing entry 'G/param/0.W'"):
        checkpoint.load(path)


@pytest.mark.parametrize(
    "key, value, match",
    [
        ("D/param/0.W", np.zeros((2, 3), np.float32), "expected shape"),
        ("D/param/0.W", None, "dtype"),  # float64 in place of float32
        ("g_opt/m/0.b", np.zeros(5, np.float32), "expected shape"),
        ("version", np.array(99), "newer"),
        ("config", np.array('{"mode": "sideways"}'), "config.*mode"),
        ("step", np.array(7), "history"),
    ],
)
def test_tampered_entries_even_with_a_consistent_manifest(saved, key, value, match):
    _, path = saved
    a = _arrays(path)
    a[key] = a[key].astype(np.float64) if value is None else value
    manifest = json.loads(str(a["manifest"]))
    manifest[key] = [list(a[key].shape), a[key].dtype.name if a[key].dtype.kind != "U" else "str"]
    a["manifest"] = np.array(json.dumps(manifest))
    _rewrite(path, a)
    with pytest.raises(ValueError, match=match) as e:
        checkpoint.load(path)
    assert str(path) in str(e.value)


def test_entry_disagreeing_with_its_manifest(saved):
    _, path = saved
    a = _arrays(path)
    a["G/param/0.b"] = np.zeros(5, np.float32)  # the manifest still says (12,)
    _rewrite(path, a)
    with pytest.raises(ValueError, match=r"'G/param/0.b': expected shape \(12,\)"):
        checkpoint.load(path)


def test_unexpected_entry(saved):
    _, path = saved
    a = _arrays(path)
    a["G/param/9.W"] = np.zeros((2, 2), np.float32)
    _rewrite(path, a)
    with pytest.raises(ValueError, match=r"unexpected entry 'G/param/9.W'"):
        checkpoint.load(path)


def test_save_rejects_a_non_gan(tmp_path):
    with pytest.raises(TypeError, match="gan"):
        checkpoint.save({"G": 1}, tmp_path / "x.npz")


def test_a_checkpoint_from_before_the_engine_room_loads_and_trains():
    """tests/data/checkpoint_f1b16e7.npz was written by minigan at commit f1b16e7 (before the
    engine room and TrainConfig's new defaults): 5 steps of CFG's GAN (batch-norm G, dropout D,
    Adam). It loads with its own config (no new default leaks in), its history as it was written
    (the last row below, printed by that version), and trains on."""
    path = os.path.join(os.path.dirname(__file__), "data", "checkpoint_f1b16e7.npz")
    gan = checkpoint.load(path)
    c = gan.config
    assert gan.step == 5 and (c.g_hidden, c.lr_decay, c.steps, c.g_output, c.g_lr) == (
        (12, 12),
        1.0,
        0,
        None,
        1e-3,
    )
    assert (
        c.penalty is None and gan.d_penalty is None
    )  # written before penalties (and the R1 default) existed
    assert gan.seconds == 0.0  # nor did it keep the training time
    assert (c.update, gan.update.name) == ("plain", "plain")  # nor the game's own optimizers
    last = [
        1.45277357,
        0.47435653,
        0.43843016,
        -1.45277357,
        1.89120376,
        0.79689932,
        0.66419315,
        0.52265465,
        2.47635341,
    ]
    np.testing.assert_allclose(gan.history_array()[-1], last, rtol=1e-7)
    gan.train(2)
    assert gan.step == 7 and np.isfinite(gan.history_array()).all()


def test_the_training_time_is_kept_across_a_resume(tmp_path):
    """GAN.seconds (wall time spent in train) goes into the checkpoint and on from there: a resumed
    run's clock starts where the saved one stopped."""
    gan = GAN(TrainConfig(**CFG))
    assert gan.seconds == 0.0
    gan.train(3)
    spent = gan.seconds
    assert spent > 0.0
    path = checkpoint.save(gan, tmp_path / "run.npz")
    back = checkpoint.load(path)
    assert back.seconds == spent
    back.train(2)
    assert back.seconds > spent


def _file_run(tmp_path, rows=200):
    data = tmp_path / "rows.npy"
    np.save(data, np.random.default_rng(0).normal(size=(rows, 3)))
    gan = GAN(
        TrainConfig(
            dataset="file",
            data_params={"path": str(data)},
            g_hidden=(8,),
            d_hidden=(8,),
            batch_size=16,
            steps=4,
            lr_decay=1.0,
        )
    )
    gan.train(2)
    return data, gan, checkpoint.save(gan, tmp_path / "run.npz")


def test_a_data_files_rows_are_fingerprinted_and_checked_on_load(tmp_path):
    data, gan, path = _file_run(tmp_path)
    info = json.loads(str(_arrays(path)["data"]))
    assert info["fingerprint"] == checkpoint.data_fingerprint(gan.data)
    assert (info["fingerprint"]["rows"], info["fingerprint"]["held_out"]) == (180, 20)
    assert checkpoint.load(path).step == 2
    x = np.load(data)
    x[7, 1] += 1e-3  # one value of one row
    np.save(data, x)
    for load in (checkpoint.load, lambda p: checkpoint.load_saved(p).data):
        with pytest.raises(ValueError, match=r"which has changed since \(as many rows, other values"):
            load(path)
    assert checkpoint.load_saved(path).sample(3).shape == (3, 3)  # sampling needs only the networks
    os.remove(data)
    missing = rf"checkpoint {path}: the run trained on the data file {data}, which is missing"
    with pytest.raises(ValueError, match=missing):
        checkpoint.load(path)


def test_a_checkpoint_from_before_the_fingerprint_loads(tmp_path):
    data, _, path = _file_run(tmp_path)
    a = _arrays(path)
    info = json.loads(str(a["data"]))
    del info["fingerprint"]
    a["data"] = np.array(json.dumps(info))  # the manifest's entry: a string either way
    _rewrite(path, a)
    np.save(data, np.load(data) * 2)  # not checked without a fingerprint to check against
    assert checkpoint.load(path).step == 2


def test_a_run_folder_names_its_checkpoint(tmp_path):
    (tmp_path / "run").mkdir()
    gan = GAN(TrainConfig(**CFG))
    checkpoint.save(gan, tmp_path / "run" / "checkpoint.npz")
    assert checkpoint.checkpoint_file(tmp_path / "run") == str(tmp_path / "run" / "checkpoint.npz")
    assert checkpoint.load(tmp_path / "run").step == 0
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="is a folder without checkpoint.npz"):
        checkpoint.load(tmp_path / "empty")
    with pytest.raises(FileNotFoundError):
        checkpoint.checkpoint_file(tmp_path / "nothing")


def test_samples_in_chunks_as_in_one_pass(saved, monkeypatch):
    """SavedGAN.sample and GAN.sample run G on training.SAMPLE_CHUNK rows at a time
    (training.host_forward): the same samples (to rounding) as one pass."""
    from minigan import training

    _, path = saved
    gan = checkpoint.load(path)
    whole = checkpoint.load_saved(path).sample(1000, seed=3), gan.sample(1000, seed=3)
    monkeypatch.setattr(training, "SAMPLE_CHUNK", 64)
    chunked = checkpoint.load_saved(path).sample(1000, seed=3), gan.sample(1000, seed=3)
    for c, w in zip(chunked, whole):
        np.testing.assert_allclose(c, w, rtol=1e-6, atol=1e-6)
        assert c.shape == (1000, 2)
    rows, forward = [], gan.G.forward
    monkeypatch.setattr(gan.G, "forward", lambda x, train=True: rows.append(x.shape[0]) or forward(x, train))
    gan.sample(1000, seed=3)
    assert rows == [64] * 15 + [40]

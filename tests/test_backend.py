"""The array backend: choice by name or $MINIGAN_BACKEND, clear errors, dtypes, devices, RNG."""

import re
import sys
import types

import numpy as np
import pytest

from minigan.backend import Backend, BackendUnavailable, get_backend
from minigan.networks import MLP, MLPSpec


# -- choosing a backend ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "spec,name", [("numpy", "numpy"), ("strict", "strict"), ("strict:device1", "strict")]
)
def test_backend_by_name(spec, name):
    b = get_backend(spec)
    assert b.name == name
    assert b.spec == {"strict": "strict:CPU_DEVICE"}.get(spec, spec)
    assert get_backend(b.spec).device == b.device  # spec round trip


def test_strict_device_is_the_named_device():
    import array_api_strict as xps

    b = get_backend("strict:device1")
    assert b.device == xps.Device("device1")
    assert b.zeros((2,)).device == xps.Device("device1")
    assert b.asarray(np.ones(3)).device == xps.Device("device1")


def test_backend_instance_passes_through():
    b = get_backend("strict")
    assert get_backend(b) is b


def test_env_var_chooses_backend(monkeypatch):
    monkeypatch.setenv("MINIGAN_BACKEND", "strict:device1")
    b = get_backend()
    assert b.name == "strict" and b.spec == "strict:device1"
    monkeypatch.setenv("MINIGAN_BACKEND", "")
    assert get_backend().name == "numpy"
    monkeypatch.delenv("MINIGAN_BACKEND")
    assert get_backend().name == "numpy"


def test_unknown_backend_name():
    with pytest.raises(ValueError, match=r"backend: expected one of .*'torch'"):
        get_backend("torch")


def test_env_var_with_unknown_name(monkeypatch):
    monkeypatch.setenv("MINIGAN_BACKEND", "jax")
    with pytest.raises(ValueError, match="backend: .*'jax'"):
        get_backend()


def test_unknown_strict_device():
    with pytest.raises(ValueError, match="device: .*'tpu0'"):
        get_backend("strict:tpu0")


def test_bad_backend_type_and_dtype():
    with pytest.raises(TypeError, match="backend: expected a name or a Backend"):
        get_backend(3)
    with pytest.raises(ValueError, match="dtype: expected 'float32' or 'float64', got 'float16'"):
        get_backend("numpy", dtype="float16")


def test_cupy_missing_raises_backend_unavailable_with_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` now raises ImportError
    with pytest.raises(BackendUnavailable) as e:
        get_backend("cupy")
    msg = str(e.value)
    # how CuPy is installed: the pip package itself, or the extra from a clone (minigan is not on PyPI)
    assert "not installed: pip install cupy-cuda12x (CUDA 12) or cupy-cuda13x (CUDA 13)" in msg
    assert 'from a clone of minigan, pip install -e ".[cuda12x]"' in msg
    assert "minigan[" not in msg and "\n" not in msg


def test_cupy_without_usable_gpu_raises_backend_unavailable(monkeypatch):
    def no_device():
        raise RuntimeError("cudaErrorNoDevice")

    fake = types.SimpleNamespace(
        cuda=types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=no_device))
    )
    monkeypatch.setitem(sys.modules, "cupy", fake)
    with pytest.raises(BackendUnavailable, match="no usable GPU/driver.*cudaErrorNoDevice"):
        get_backend("cupy")


def test_backend_unavailable_is_a_runtime_error():
    assert issubclass(BackendUnavailable, RuntimeError)


# -- dtypes and creation ----------------------------------------------------------------------
def test_default_dtype_is_float32(backend):
    xp = backend.xp
    assert backend.float_dtype == xp.float32
    assert backend.zeros((2, 3)).dtype == xp.float32
    assert backend.ones((2,)).dtype == xp.float32
    assert backend.full((2,), 0.5).dtype == xp.float32
    rng = backend.random(0)
    assert rng.normal((4, 2)).dtype == xp.float32
    assert rng.uniform((4,), -1.0, 1.0).dtype == xp.float32


def test_float64_on_request(backend64):
    xp = backend64.xp
    assert backend64.float_dtype == xp.float64
    assert backend64.zeros((2,)).dtype == xp.float64
    assert backend64.random(0).normal((3,)).dtype == xp.float64


def test_creation_is_on_the_backend_device(backend):
    for a in (
        backend.zeros((2,)),
        backend.asarray(np.ones((2, 2), np.float32)),
        backend.random(1).normal((3,)),
    ):
        assert a.device == backend.device


def test_to_numpy_round_trip(backend):
    host = np.arange(6, dtype=np.float32).reshape(2, 3)
    a = backend.asarray(host)
    back = backend.to_numpy(a)
    assert isinstance(back, np.ndarray)
    np.testing.assert_array_equal(back, host)
    backend.synchronize()  # a no-op except on cupy; must not fail anywhere


def test_no_float64_device_works_in_float32():
    b = get_backend("strict:no_float64")
    assert b.float_dtype == b.xp.float32
    net = MLP(MLPSpec((2, 8, 1), maxout_pieces=2, dropout=0.2), b, seed=0)
    x = b.random(1).normal((5, 2))
    out, cache = net.forward(x)
    dx, grads = net.backward(b.ones(out.shape), cache)
    assert out.dtype == dx.dtype == b.xp.float32
    assert all(g.dtype == b.xp.float32 for g in grads.values())


def test_no_float64_device_refuses_a_float64_backend_at_construction():
    with pytest.raises(ValueError, match="dtype: strict:no_float64 cannot compute in float64"):
        get_backend("strict:no_float64", dtype="float64")


# -- random generator ---------------------------------------------------------------------------
def test_rng_same_seed_same_draws(backend):
    a = backend.to_numpy(backend.random(7).normal((5,)))
    b = backend.to_numpy(backend.random(7).normal((5,)))
    c = backend.to_numpy(backend.random(8).normal((5,)))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_rng_state_round_trip(backend):
    rng = backend.random(3)
    rng.normal((4,))  # move away from the seed
    state = rng.state()
    assert isinstance(state, str)
    first = [backend.to_numpy(rng.normal((3,))), backend.to_numpy(rng.uniform((3,)))]
    rng.set_state(state)
    again = [backend.to_numpy(rng.normal((3,))), backend.to_numpy(rng.uniform((3,)))]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    other = backend.random(99)  # a state moves between generators too (checkpoints)
    other.set_state(state)
    np.testing.assert_array_equal(backend.to_numpy(other.normal((3,))), first[0])


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True, [1, 2]])
def test_rng_seed_must_be_a_non_negative_integer(seed):
    with pytest.raises(
        ValueError, match=rf"^seed: expected a non-negative integer, got {re.escape(repr(seed))}$"
    ):
        get_backend("numpy").random(seed)


def test_rng_seed_none_and_numpy_integers():
    b = get_backend("numpy")
    assert b.random(None).normal((2,)).shape == (2,)
    np.testing.assert_array_equal(b.random(np.int64(7)).normal((3,)), b.random(7).normal((3,)))


def test_rng_bad_state():
    with pytest.raises(ValueError, match="state: not a random-generator state"):
        get_backend("numpy").random(0).set_state("not json")


def test_rng_draw_ranges(backend):
    rng = backend.random(0)
    u = backend.to_numpy(rng.uniform((1000,), -2.0, 3.0))
    assert u.min() >= -2.0 and u.max() < 3.0
    k = backend.to_numpy(rng.integers(5, (1000,)))
    assert k.min() >= 0 and k.max() <= 4 and set(np.unique(k)) == {0, 1, 2, 3, 4}


def test_strict_rng_matches_numpy_host_stream():
    """strict draws on the host with the same PCG64 stream and moves the result: same numbers."""
    a = get_backend("numpy").random(5).normal((4, 3))
    b = get_backend("strict:device1").random(5).normal((4, 3))
    np.testing.assert_array_equal(a, get_backend("strict:device1").to_numpy(b))


def test_backend_repr_and_class():
    b = get_backend("numpy")
    assert isinstance(b, Backend) and "numpy" in repr(b)


def test_keep_freed_memory_makes_big_arrays_cost_no_page_faults():
    """After keep_freed_memory(), freeing and re-making a 40 MiB array every 'step' reuses the
    same memory. Without it glibc serves an array above 32 MiB with fresh mmap pages each time:
    ~10,000 page faults for 20 such arrays. (glibc only; elsewhere it reports False: skip.)"""
    import resource

    from minigan.engine import keep_freed_memory

    if not keep_freed_memory():
        pytest.skip("no glibc malloc here")
    shape = (10 * 1024, 1024)  # 40 MiB of float32
    for _ in range(3):  # warm up: the heap grows to its peak once
        a = np.ones(shape, dtype=np.float32)
        del a
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        a = np.ones(shape, dtype=np.float32)
        del a
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
    assert faults < 500  # fresh pages would be 10240 faults per array

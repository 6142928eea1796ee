"""Shared fixtures: every backend-parametrised test runs on numpy, array-api-strict (its CPU,
its simulated GPU ``device1`` and its ``no_float64`` device) and cupy where a GPU is usable."""

import os

import pytest
from hypothesis import settings

from minigan.backend import BackendUnavailable, get_backend

# CI runs the property tests on a fixed sequence of examples (reproducible runs); locally
# they draw new examples every run, which is how new counterexamples are found.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

try:  # the networks in the tests are tiny: one BLAS thread is fastest, by far on a busy machine
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - threadpoolctl comes with the test extra
    threadpool_limits = None


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread():
    if threadpool_limits is None:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(autouse=True)
def _in_a_fresh_folder(tmp_path_factory, monkeypatch):
    """Every test runs in an empty folder of its own, so the suite passes whatever the folder it
    is started from holds (a user's ``runs/`` from the Quickstart included)."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


BACKENDS = ["numpy", "strict", "strict:device1", "strict:no_float64", "cupy"]
BACKENDS_F64 = [b for b in BACKENDS if b != "strict:no_float64"]


def _make(spec, dtype):
    try:
        return get_backend(spec, dtype=dtype)
    except BackendUnavailable as e:
        pytest.skip(f"{spec}: {e}")


@pytest.fixture(params=BACKENDS)
def backend(request):
    """A float32 backend, one per supported array library/device."""
    return _make(request.param, "float32")


@pytest.fixture(params=BACKENDS_F64)
def backend64(request):
    """A float64 backend (gradient checks), on every device that allows float64."""
    return _make(request.param, "float64")

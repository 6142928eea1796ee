"""The gradient checker itself: its error measure, its differences, its kink and accuracy
guards, that it can fail, and the `minigan gradcheck` command on every float64 backend."""

import math
import subprocess
import sys

import numpy as np
import pytest

from minigan import gradcheck as gc
from minigan import losses as L
from minigan.app.gradcheck_command import main as gradcheck_main
from minigan.backend import get_backend
from minigan.layers import LeakyReLU, Linear, Maxout, ReLU, Tanh
from minigan.networks import MLP, MLPSpec, discriminator, generator

B64 = get_backend("numpy", dtype="float64")


# -- rel_error and the centred difference --------------------------------------------------------------
def test_rel_error_formula():
    """max|a−b| / max(1e-8, max(|a|+|b|)), computed by hand."""
    assert gc.rel_error([1.0, -2.0], [1.0, -2.0]) == 0.0
    assert gc.rel_error([1.0, 3.0], [1.1, 3.0]) == pytest.approx(0.1 / 6.0)
    assert gc.rel_error([0.0], [1e-12]) == pytest.approx(1e-12 / 1e-8)  # the 1e-8 floor
    assert gc.rel_error(np.zeros((2, 0)), np.zeros((2, 0))) == 0.0


def test_numerical_gradient_of_a_known_function():
    """f(x) = Σ x³ + x₀x₁: ∇f = 3x² + (x₁, x₀); centred differences are O(h²) = 1e-10 off."""
    x = np.array([0.3, -1.2, 2.0])
    x0 = x.copy()

    def f(v):
        return float(np.sum(v**3) + v[0] * v[1])

    num = gc.numerical_gradient(f, x)
    exact = 3 * x**2 + np.array([x[1], x[0], 0.0])
    assert gc.rel_error(num, exact) < 1e-9
    np.testing.assert_array_equal(x, x0)  # x itself is not perturbed
    some = gc.numerical_gradient(f, x, entries=[(1,)])
    assert some[0] == 0.0 and some[2] == 0.0 and some[1] == pytest.approx(exact[1], rel=1e-9)


def test_step_doubling_estimates_the_truncation_error():
    """For f = Σ x³ the centred difference is exactly 3x² + s² (third derivative 6), so
    |D_h − D_2h| = 3h²."""
    x = np.array([0.5, -2.0])
    h = 1e-3
    d, spread = gc.numerical_gradient(lambda v: float(np.sum(v**3)), x, h, step_doubling=True)
    np.testing.assert_allclose(d, 3 * x**2 + h**2, rtol=1e-9)
    np.testing.assert_allclose(spread, 3 * h**2, rtol=1e-4)


def test_sample_entries():
    assert gc.sample_entries((3, 4), None) is None
    assert gc.sample_entries((3, 4), 12) is None
    e = gc.sample_entries((30, 40), 25, seed=1)
    assert len(e) == 25 == len(set(e)) and all(0 <= i < 30 and 0 <= j < 40 for i, j in e)
    assert e == gc.sample_entries((30, 40), 25, seed=1)


def test_noise_floor_and_resolution():
    """ε·max(1,|f|)/(h·max|g|), by hand; 0-gradients are unresolvable (inf)."""
    eps = np.finfo(np.float64).eps
    assert gc.fd_resolution(10.0, [2e-5, -1.0], h=1e-5) == pytest.approx(eps * 10 / 1e-5)
    assert gc.fd_resolution(0.1, [1e-3], h=1e-5) == pytest.approx(eps / 1e-8)
    assert gc.fd_resolution(1.0, [0.0]) == math.inf
    assert gc.noise_floor(3.0, 1e-5) == pytest.approx(100 * eps * 3 / 1e-5)


def test_measured_rounding_noise_flags_a_noisy_function():
    """f = Σ g·x plus a deterministic noise of ±5ε·|f| per value (as a network's rounding, which
    exceeds ε·|f|): the fourth differences measure it (3σ of a uniform ±5ε|f|: 3·5ε|f|/√3), and a
    gradient array too small for it to resolve to 1e-6 is flagged, where ε·|f| alone says it is
    resolved. Moré & Wild 2011's estimate; the seed of the noise is the bit pattern of x."""
    eps = np.finfo(np.float64).eps
    g = np.array([4e-5, -3e-5, 2e-5, 5e-5, -1e-5, 3e-5])

    def f(v):
        u = np.random.default_rng(np.frombuffer(v.tobytes(), np.uint32)).uniform(-1, 1)
        return 1.0 + float(g @ v) + 5 * eps * u

    x = np.linspace(-1.0, 1.0, g.size)
    num, spread, fourth = gc.numerical_gradient(f, x, step_doubling=True, fourth_difference=True)
    noise = gc.rounding_noise(fourth)
    assert 3 * eps < noise < 20 * eps  # ≈ 3·5ε/√3 ≈ 8.7ε
    assert gc.fd_resolution(1.0, g) < 1e-6 < gc.fd_resolution(1.0, g, noise=noise)
    assert gc.rel_error(num, g) > gc.fd_resolution(1.0, g) / 10  # the noise is really there
    with pytest.raises(ValueError, match="fourth_difference"):
        gc.numerical_gradient(f, x, fourth_difference=True)


def test_fourth_difference_of_a_smooth_function_is_its_fourth_derivative():
    """Δ⁴ = h⁴·f exactly for f = Σ x⁴ (f = 24): no noise at h = 1e-2."""
    h = 1e-2
    _, _, fourth = gc.numerical_gradient(
        lambda v: float(np.sum(v**4)), np.array([0.3, -1.0]), h, step_doubling=True, fourth_difference=True
    )
    np.testing.assert_allclose(fourth, 24 * h**4, rtol=1e-6)


# -- kinks ------------------------------------------------------------------------------------------------
def test_kink_distances_by_hand():
    assert gc.relu_margin(np.array([[0.5, -0.02], [3.0, 0.1]])) == pytest.approx(0.02)
    z = np.array([[[1.0, 0.7, -2.0], [0.0, 0.0, -1.0]], [[5.0, 1.0, 4.99], [2.0, -1.0, 0.0]]])
    assert gc.maxout_gap(z) == 0.0  # unit (0, 1) ties
    assert gc.maxout_gap(z[1:]) == pytest.approx(0.01)
    assert gc.maxout_gap(np.ones((3, 2, 1))) == math.inf  # one piece: no kink
    assert gc.hinge_margin(np.array([1.3, 0.95]), np.array([-1.2])) == pytest.approx(0.05)
    assert gc.hinge_margin(None, np.array([-1.0])) == 0.0


def test_maxout_kink_margin_from_a_forward():
    layer = Maxout(1, 1, 2, B64, B64.random(0))
    layer.params["W"] = np.array([[1.0, 2.0]])
    layer.params["b"] = np.array([0.0, -0.5])
    x = np.array([[0.4], [3.0]])  # pieces (0.4, 0.3) gap 0.1; (3, 5.5) gap 2.5
    assert gc.kink_margin(layer, x) == pytest.approx(0.1)


@pytest.mark.parametrize("layer", [ReLU(B64), LeakyReLU(B64, 0.2)])
def test_relu_kink_margin_is_read_from_the_layer_input(layer):
    """min |x| over the activation's input: its output (or an output cache) would say 0 for ReLU
    (max(x, 0) = 0 wherever x < 0) and 0.1 for LeakyReLU (0.2·|−0.5|)."""
    x = np.array([[-0.5, 2.0], [0.25, -3.0]])
    assert gc.kink_margin(layer, x) == pytest.approx(0.25)


def test_a_kink_inside_an_mlp_is_measured_and_refused():
    """Linear -> ReLU -> Linear with hidden pre-activations (1e-7, -0.5): the margin is 1e-7 (read
    from the ReLU's input, not its output, which is 0 for the second sample), and a step of h in x
    flips the first sign, so the check refuses instead of reporting an error."""
    net = MLP(MLPSpec((1, 1, 1), "relu"), B64, seed=0)
    net.layers[0].params.update(W=np.array([[1.0]]), b=np.array([-0.5]))
    x = np.array([[0.5 + 1e-7], [0.0]])
    assert gc.kink_margin(net, x) == pytest.approx(1e-7, rel=1e-6)
    with pytest.raises(gc.KinkCrossed, match="crossed a kink"):
        gc.check_mlp(net, x)


def test_a_step_across_a_maxout_tie_is_refused():
    layer = Maxout(1, 1, 2, B64, B64.random(0))
    layer.params["W"] = np.array([[1.0, 2.0]])
    layer.params["b"] = np.array([0.0, -0.5])
    x = np.array([[0.5 + 1e-7], [3.0]])  # pieces tie within h at x = 0.5
    with pytest.raises(gc.KinkCrossed, match="crossed a kink"):
        gc.check_layer(layer, x, B64)


def test_hinge_at_its_kink_is_refused():
    with pytest.raises(gc.KinkCrossed):
        gc.check_loss(L.hinge_d_loss, np.array([1.0 + 1e-6, 3.0]), np.array([0.0]))


# -- the checker can fail ----------------------------------------------------------------------------------
def test_wrong_layer_gradient_is_reported(monkeypatch):
    """Tanh's backward with 1 − out instead of 1 − out²: a relative error far above 1e-6."""
    monkeypatch.setattr(
        Tanh, "backward", lambda self, dout, cache, need_dx=True, need_grads=True: (dout * (1.0 - cache), {})
    )
    errors = gc.check_layer(Tanh(B64), B64.random(0).normal((4, 3)), B64)
    assert errors["x"] > 1e-2


def test_wrong_loss_gradient_is_reported():
    """A bce whose real-side gradient has the wrong sign (a classic bug)."""

    def bad(lr, lf):
        v, dr, df = L.discriminator_loss(lr, lf)
        return v, -dr, df

    errors = gc.check_loss(bad, np.array([0.3, -1.0]), np.array([0.5]))
    assert errors["l_real"] > 0.5 and errors["l_fake"] < 1e-9


def test_wrong_generator_path_is_reported():
    """Forgetting the 1/n of the mean in L_G's gradient: the chain through D catches it."""
    G = generator(2, 2, (4,), backend=B64, seed=0)
    D = discriminator(2, (4,), activation="tanh", backend=B64, seed=1)

    def bad(lf):
        v, d = L.generator_nonsaturating_loss(lf)
        return v, d * lf.shape[0]

    z = B64.random(2).normal((5, 2))
    assert max(gc.check_generator_chain(G, D, bad, z).values()) > 0.5
    assert max(gc.check_generator_chain(G, D, L.generator_nonsaturating_loss, z).values()) < gc.THRESHOLD


def test_structural_zero_is_reported_as_zero():
    """The Wasserstein critic's output bias has gradient mean(1) − mean(1) = 0 exactly: both
    sides lie below the noise floor and the error is 0, not 0/1e-8 noise."""
    D = discriminator(2, (3,), activation="tanh", backend=B64, seed=0)
    errors = gc.check_discriminator_chain(
        D, L.wasserstein_d_loss, B64.random(1).normal((4, 2)), B64.random(2).normal((4, 2))
    )
    assert errors["2.b"] == 0.0 and "2.b" not in errors.accuracy
    assert max(errors.values()) <= gc.THRESHOLD


def test_require_float64():
    with pytest.raises(ValueError, match="backend: gradient checks need float64"):
        gc.require_float64(get_backend("numpy"))
    with pytest.raises(ValueError, match="strict:no_float64 cannot compute in float64"):
        gc.require_float64(get_backend("strict:no_float64", dtype="float64"))  # refused by get_backend
    with pytest.raises(ValueError, match="float64"):
        gc.check_layer(
            Linear(2, 2, get_backend("numpy"), get_backend("numpy").random(0)),
            np.ones((2, 2), np.float32),
            get_backend("numpy"),
        )


# -- the whole suite / the command, on every float64 backend -------------------------------------------------
def test_run_all_passes_on_every_float64_backend(backend64):
    """Every row of the command's table passes: numpy with every entry, the others sparsely."""
    full = backend64.name == "numpy"
    results = gc.run_all(
        backend64,
        seed=1,
        batch=4,
        width=4 if full else 3,
        depth=1 if not full else 2,
        max_entries=None if full else 6,
    )
    assert len(results) == 71
    bad = [r for r in results if not r.passed]
    assert not bad, gc.format_table(bad)
    assert all(r.accuracy <= gc.THRESHOLD for r in results)


def test_main_prints_the_table_and_exits_zero(capsys):
    rc = gradcheck_main(
        ["--backend", "numpy", "--batch", "3", "--width", "3", "--depth", "1", "--entries", "4"]
    )
    out = capsys.readouterr().out
    assert rc == 0
    assert "component" in out and "max rel error" in out and "71/71 passed" in out
    assert "chain G: nonsaturating through D" in out and "layer BatchNorm train" in out


def test_main_exits_nonzero_on_a_failure(monkeypatch, capsys):
    monkeypatch.setattr(Tanh, "backward", lambda self, dout, cache, need_dx=True, need_grads=True: (dout, {}))
    rc = gradcheck_main(["--batch", "3", "--width", "3", "--depth", "1", "--entries", "4"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "layer Tanh" in out and "FAIL (x)" in out


@pytest.mark.parametrize(
    "argv,match",
    [
        (["--backend", "strict:no_float64"], "cannot compute in float64"),
        (["--backend", "torch"], "backend: expected one of"),
        (["--batch", "2"], "batch: expected at least 3"),
        (["--width", "0"], "width: expected a positive integer"),
        (["--entries", "-1"], "entries: expected 0"),
    ],
)
def test_main_bad_options_exit_2(argv, match, capsys):
    assert gradcheck_main(argv) == 2
    assert match in capsys.readouterr().err


def test_python_dash_m_entry_point():
    """`python -m minigan.gradcheck` and `python -m minigan gradcheck` run the same command."""
    args = ["--batch", "3", "--width", "2", "--depth", "1", "--entries", "3"]
    for cmd in (["-m", "minigan.gradcheck"], ["-m", "minigan", "gradcheck"]):
        p = subprocess.run([sys.executable, *cmd, *args], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        assert "71/71 passed" in p.stdout


def test_the_second_order_rows_can_fail(monkeypatch):
    """Tanh's R-backward without its curvature term (−2y ⊙ dout ⊙ R{y}): the Hessian-vector rows
    and the consensus row fail, the first-order rows do not notice."""
    from minigan import second_order as so

    forward, _ = so.R_OPS[Tanh]
    broken = lambda layer, cache, dout, rdout, rx, ry, V: (rdout * (1.0 - cache * cache), {})
    monkeypatch.setitem(so.R_OPS, Tanh, (forward, broken))
    results = gc.run_all("numpy", batch=3, width=3, depth=1, max_entries=4)
    failed = {r.component for r in results if not r.passed}
    products = {r.component for r in results if r.component.startswith("second order: Hess")}
    assert failed == products | {"second order: consensus gradient Jᵀv"}
    assert len(failed) == 4  # the unrolled rows differentiate D (sigmoid) twice, G (tanh) once


def test_the_unrolled_rows_can_fail(monkeypatch):
    """Adam's adjoint without its second-moment path (v̄ = 0), then SGD's without the velocity carried
    back (v̄ = 0): each fails its own unrolled row and no other."""
    from minigan import unrolled

    adam, sgd = unrolled.ADJOINTS["adam"], unrolled.ADJOINTS["sgd"]
    no_v = lambda cfg, t, g, after, bar, bar_s: adam(cfg, t, 0.0 * g, after, bar, bar_s)
    no_carry = lambda cfg, t, g, after, bar, bar_s: sgd(cfg, t, g, after, bar, {})
    for name, broken, fails in (("adam", no_v, "Adam"), ("sgd", no_carry, "SGD + momentum")):
        monkeypatch.setitem(unrolled.ADJOINTS, name, broken)
        results = gc.run_all("numpy", batch=3, width=3, depth=1, max_entries=4)
        failed = {r.component for r in results if not r.passed}
        assert len(failed) == 1 and fails in failed.pop()
        monkeypatch.setitem(unrolled.ADJOINTS, name, {"adam": adam, "sgd": sgd}[name])


def _errors(error, accuracy):
    e = gc.Errors(W=error)
    e.accuracy = {"W": accuracy}
    return e


@pytest.mark.parametrize(
    "error, accuracy_at, expect",
    [
        (1e-10, {1e-5: 2e-6, 4e-5: 3e-7}, ("layer X (h×4)", True)),  # unresolved at h, resolved at 4h
        (1e-10, {1e-5: 2e-6, 4e-5: 2e-6}, ("layer X", False)),  # unresolved at both: still unresolved
        (1e-3, {1e-5: 2e-6, 4e-5: 3e-7}, ("layer X", False)),  # a wrong gradient is never retried
    ],
)
def test_an_unresolved_row_is_checked_once_more_at_4h(error, accuracy_at, expect):
    """The retry at 4h only turns "unresolved" (error passes, differences too coarse) into a
    verdict; it never lets a failing error pass, and the table names the larger step."""
    suite = gc._Suite(get_backend("numpy", dtype="float64"), 0, 3, 3, (3,), 1e-5, 1e-6, None)
    steps = []

    def check(inputs):
        steps.append(suite.h)
        return _errors(error, accuracy_at[round(suite.h, 10)])

    r = suite.row("layer X", lambda s: s, check, tries=2)
    assert (r.component, r.passed) == expect
    assert suite.h == 1e-5  # restored
    assert steps[:2] == [1e-5, 1e-5] and set(steps[2:]) <= {4e-5}

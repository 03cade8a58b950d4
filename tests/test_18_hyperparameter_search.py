"""18_hyperparameter_search: the scratch expected improvement and 1-D Bayesian optimisation loop.

* normal_pdf / normal_cdf against scipy.stats.norm (absolute 1e-15; the CDF also relative
  1e-12, tails included).
* expected_improvement against three independent computations of E[max(f - best - xi, 0)] for
  f ~ N(mu, sigma^2): the closed form written with scipy.stats.norm (relative 1e-10), numerical
  integration of the improvement against the normal density with scipy.integrate.quad (1e-9),
  and Monte Carlo samples from the posterior of a fitted scikit-learn GaussianProcessRegressor
  (gp.sample_y; within 5 standard errors of the sample mean).
* its limits: sigma = 0 gives max(mu - best - xi, 0); EI >= max(mu - best - xi, 0) >= 0 (Jensen);
  EI grows with mu and with sigma; a negative sigma is rejected.
* bayes_opt with scikit-learn's GaussianProcessRegressor: every step evaluates the argmax of EI
  computed independently (scipy) from a GP refitted to the same points; it finds the global
  maximum of a two-peaked function that a start on the lower peak hides, and from random starts
  it ends higher than random search with the same number of evaluations.
* KerasTuner writes under the folder it is given also when run from another working directory,
  and overwrite=True starts a rerun from nothing (the notebook relies on both); the notebook's
  folder, build/tuner/{full,quick}, is ignored by git.
"""

import shutil
import subprocess

import keras
import nbformat
import numpy as np
import pytest
from nbcode import NOTEBOOKS, scratch
from scipy import integrate
from scipy.stats import norm
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern

ns = scratch("18_hyperparameter_search")
normal_pdf = ns["normal_pdf"]
normal_cdf = ns["normal_cdf"]
expected_improvement = ns["expected_improvement"]
bayes_opt = ns["bayes_opt"]

REPO_ROOT = NOTEBOOKS.parent


def ei_reference(mu, sigma, best, xi):
    """The closed form with scipy's normal distribution (sigma > 0)."""
    gain = np.asarray(mu, dtype="float64") - best - xi
    z = gain / sigma
    return gain * norm.cdf(z) + sigma * norm.pdf(z)


def make_gp():
    kernel = ConstantKernel(1.0, (1e-2, 1e2)) * Matern(0.5, (0.05, 5.0), nu=2.5)
    return GaussianProcessRegressor(
        kernel, alpha=1e-6, normalize_y=True, n_restarts_optimizer=2, random_state=0
    )


def gp_posterior(x_seen, y_seen, candidates):
    gp = make_gp().fit(x_seen[:, None], y_seen)
    return gp.predict(candidates[:, None], return_std=True)


def two_peaks(x):
    """A broad hill of height 0.7 at x = 1 and a narrow peak of height 1 at x = 3.3 on [0, 4]."""
    x = np.asarray(x, dtype="float64")
    return 0.7 * np.exp(-((x - 1.0) ** 2) / 0.4) + np.exp(-((x - 3.3) ** 2) / 0.04)


CANDIDATES = np.linspace(0.0, 4.0, 401)
TRUE_MAX = two_peaks(CANDIDATES).max()


# ------------------------------------------------------------------ the normal distribution
def test_normal_pdf_and_cdf_match_scipy():
    z = np.linspace(-8.0, 8.0, 1601)
    np.testing.assert_allclose(normal_pdf(z), norm.pdf(z), rtol=0, atol=1e-15)
    np.testing.assert_allclose(normal_cdf(z), norm.cdf(z), rtol=1e-12, atol=1e-15)
    assert normal_cdf(0.0) == pytest.approx(0.5, abs=1e-15)


# ------------------------------------------------------------------ expected improvement
def test_ei_matches_the_closed_form_with_scipy():
    rng = np.random.default_rng(0)
    mu, sigma = rng.normal(size=500), rng.uniform(0.01, 2.0, size=500)
    for best, xi in [(0.0, 0.0), (0.5, 0.01), (-1.0, 0.2)]:
        out = expected_improvement(mu, sigma, best, xi)
        assert out.shape == (500,)
        np.testing.assert_allclose(out, ei_reference(mu, sigma, best, xi), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize(
    ("mu", "sigma", "best", "xi"),
    [(0.0, 1.0, 0.0, 0.0), (0.3, 0.1, 0.5, 0.01), (2.0, 0.5, 0.5, 0.0), (-1.0, 2.0, 1.0, 0.1)],
)
def test_ei_matches_numerical_integration(mu, sigma, best, xi):
    # E[max(f - best - xi, 0)] = integral over f > best + xi of (f - best - xi) N(f; mu, sigma^2)
    lo, hi = best + xi, max(best + xi, mu) + 40 * sigma  # beyond hi the density is < 1e-300
    integral, err = integrate.quad(
        lambda f: (f - lo) * norm.pdf(f, mu, sigma), lo, hi, epsabs=1e-14, epsrel=1e-12, limit=200
    )
    assert err < 1e-10
    assert float(expected_improvement(mu, sigma, best, xi)) == pytest.approx(integral, abs=1e-9)


def test_ei_matches_monte_carlo_from_a_gp_posterior():
    # The GP's posterior at each candidate, sampled; the EI formula needs only its mean and std.
    x = np.array([[0.2], [1.0], [1.7], [2.9], [3.6]])
    gp = make_gp().fit(x, two_peaks(x[:, 0]))
    points = np.array([[0.6], [1.3], [2.3], [3.3], [3.9]])
    mu, sigma = gp.predict(points, return_std=True)
    best, xi, n = float(two_peaks(x[:, 0]).max()), 0.01, 400_000
    samples = gp.sample_y(points, n_samples=n, random_state=1)  # (points, samples)
    gains = np.maximum(samples - best - xi, 0.0)
    mc, se = gains.mean(axis=1), gains.std(axis=1) / np.sqrt(n)
    ei = expected_improvement(mu, sigma, best, xi)
    assert np.all(np.abs(ei - mc) <= 5 * se + 1e-6), (ei, mc, se)
    assert ei.max() > 1e-3  # not a trivial all-zero comparison


def test_ei_limits_and_monotonicity():
    mu = np.linspace(-3.0, 3.0, 61)
    # sigma = 0: no uncertainty, the improvement is known
    known = np.maximum(mu - 0.5 - 0.1, 0.0)
    np.testing.assert_allclose(expected_improvement(mu, 0.0, 0.5, 0.1), known, rtol=0, atol=1e-15)
    for sigma in (1e-6, 0.1, 1.0, 5.0):
        ei = expected_improvement(mu, sigma, 0.5, 0.1)
        assert np.all(ei >= np.maximum(mu - 0.6, 0.0) - 1e-12)  # Jensen: E max >= max E
        assert np.all(np.diff(ei) >= 0)  # a higher mean never lowers EI
    by_sigma = expected_improvement(0.2, np.linspace(0.0, 3.0, 31), 0.5)
    assert np.all(np.diff(by_sigma) > 0)  # more uncertainty, more to gain below the best
    far_below = expected_improvement(-50.0, 1.0, 0.0)  # cancellation must not go negative
    assert 0.0 <= float(far_below) < 1e-300


def test_ei_rejects_negative_sigma():
    with pytest.raises(ValueError, match="sigma"):
        expected_improvement([0.0, 1.0], [1.0, -0.1], 0.0)


# ------------------------------------------------------------------ the optimisation loop
def test_bayes_opt_evaluates_the_argmax_of_ei_at_every_step():
    x_init = [0.5, 1.2, 1.8]
    xs, ys, steps = bayes_opt(two_peaks, CANDIDATES, x_init, 6, gp_posterior, xi=0.01)
    assert len(xs) == len(ys) == 9 and len(steps) == 6
    np.testing.assert_allclose(ys, two_peaks(xs), atol=1e-15)
    np.testing.assert_array_equal(xs[:3], x_init)
    for k, step in enumerate(steps):
        seen = 3 + k
        gp = make_gp().fit(xs[:seen, None], ys[:seen])
        mu, sigma = gp.predict(CANDIDATES[:, None], return_std=True)
        np.testing.assert_allclose(step["mu"], mu, atol=1e-8)
        np.testing.assert_allclose(step["sigma"], sigma, atol=1e-8)
        best, gain = ys[:seen].max(), mu - ys[:seen].max() - 0.01
        ei = np.where(sigma > 0, ei_reference(mu, np.maximum(sigma, 1e-300), best, 0.01), 0.0)
        ei = np.where(sigma > 0, ei, np.maximum(gain, 0.0))
        assert xs[seen] == step["x_next"] == CANDIDATES[np.argmax(ei)]


def test_bayes_opt_finds_the_hidden_global_maximum():
    # Starting on the broad hill, the narrow peak is invisible to the mean; EI's exploration
    # term sends the search to the unexplored right part of the range, where it finds the peak.
    xs, ys, _ = bayes_opt(two_peaks, CANDIDATES, [0.5, 1.0, 1.5], 10, gp_posterior)
    assert ys.max() > TRUE_MAX - 0.01
    assert ys[:3].max() < 0.75  # the peak was not among the starting points


def test_bayes_opt_beats_random_search_from_random_starts():
    rng = np.random.default_rng(0)
    bo, rand = [], []
    for _ in range(8):
        x0 = rng.uniform(0.0, 4.0, size=3)
        bo.append(bayes_opt(two_peaks, CANDIDATES, x0, 8, gp_posterior)[1].max())
        rand.append(two_peaks(np.concatenate([x0, rng.uniform(0.0, 4.0, size=8)])).max())
    assert np.mean(bo) > np.mean(rand) + 0.05, (bo, rand)


# ------------------------------------------------------------------ where the tuner files go
def _notebook_code():
    book = nbformat.read(NOTEBOOKS / "18_hyperparameter_search.ipynb", as_version=4)
    return "\n".join(c.source for c in book.cells if c.cell_type == "code")


def test_notebook_tuners_use_build_tuner_with_overwrite():
    code = _notebook_code()
    assert 'tuner_root = paths.BUILD_DIR / "tuner" / (' in code
    assert code.count("directory=") == code.count("directory=str(tuner_root)") == 1
    assert code.count("overwrite=True,") == 1  # the one place tuners are made
    assert "project_name=" in code


def test_tuner_folder_is_ignored_by_git():
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    probe = "build/tuner/full/18_RandomSearch/trial_00/checkpoint.weights.h5"
    done = subprocess.run(["git", "check-ignore", "-q", probe], cwd=REPO_ROOT, check=False)
    assert done.returncode == 0, f"{probe} is not ignored by git"


def test_keras_tuner_writes_where_told_and_overwrite_starts_afresh(tmp_path, monkeypatch):
    kt = pytest.importorskip("keras_tuner")
    root, project = REPO_ROOT / "build" / "tuner", "_test_18_overwrite"
    monkeypatch.chdir(tmp_path)  # like running the notebook from notebooks/

    def build(hp):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(hp.Int("units", 1, 4))])
        model.compile(optimizer="sgd", loss="mse")
        return model

    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    try:
        for max_trials in (2, 1):  # without overwrite the rerun would reload the two old trials
            tuner = kt.RandomSearch(
                build,
                objective="val_loss",
                max_trials=max_trials,
                seed=0,
                directory=str(root),
                project_name=project,
                overwrite=True,
            )
            tuner.search(x, y, epochs=1, validation_data=(x, y), verbose=0)
            trials = tuner.oracle.trials.values()
            assert [t.status for t in trials] == ["COMPLETED"] * max_trials
        assert (root / project / "oracle.json").is_file()
        assert not any(tmp_path.iterdir()), "the tuner wrote into the working directory"
    finally:
        shutil.rmtree(root / project, ignore_errors=True)

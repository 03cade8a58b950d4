import json
import os
import subprocess

import keras
import matplotlib
import numpy as np
import pytest
import tensorflow as tf

from utils import speed
from utils.speed import TIE, Speedup, StepTimes

matplotlib.use("Agg")


def _times(*seconds, steps=10, batch_size=32):
    return StepTimes(tuple(seconds), steps, batch_size)


class _FakeClock:
    """Stands in for ``time`` inside ``utils.speed``: the clock only moves when told to."""

    def __init__(self):
        self.now = 50.0

    def perf_counter(self):
        return self.now


class _ScriptedModel:
    """Has Keras's ``fit`` signature. Each call is one window: its first step takes
    ``first_step`` seconds of the fake clock (starting the data iterator), the remaining steps
    together the next of ``durations``; the callbacks' hooks are called as Keras calls them."""

    compiled = True

    def __init__(self, clock, durations, *, name="model", log=None, first_step=100.0, short=0):
        self.clock, self.durations, self.name = clock, list(durations), name
        self.log = [] if log is None else log
        self.first_step, self.short = first_step, short
        self.fit_calls = []

    def fit(self, dataset, *, epochs, steps_per_epoch, callbacks, **kwargs):
        self.fit_calls.append(dict(epochs=epochs, steps_per_epoch=steps_per_epoch, **kwargs))
        self.log.append(self.name)
        duration = self.durations[len(self.fit_calls) - 1]
        for callback in callbacks:
            callback.on_epoch_begin(0)
        for batch in range(steps_per_epoch - self.short):
            self.clock.now += self.first_step if batch == 0 else 0.0
            self.clock.now += duration if batch == 1 else 0.0
            for callback in callbacks:
                callback.on_train_batch_end(batch)
        for callback in callbacks:
            callback.on_epoch_end(0)


@pytest.fixture
def clock(monkeypatch):
    fake = _FakeClock()
    monkeypatch.setattr(speed, "time", fake)
    return fake


# --- StepTimes ---------------------------------------------------------------------------------


def test_step_times_statistics():
    times = _times(0.4, 0.2, 0.3, 1.0, steps=20, batch_size=64)
    assert times.median == pytest.approx(0.35)  # the median of four windows: mean of the middle
    assert times.step_ms == pytest.approx(17.5)
    assert times.step_ms_range == pytest.approx((10.0, 50.0))
    assert times.samples_per_second == pytest.approx(20 * 64 / 0.35)
    assert str(times) == "17.5 ms/step (range 10–50, 4 windows)"


@pytest.mark.parametrize(
    "seconds,steps,batch_size,error",
    [
        ((), 10, 32, ValueError),  # no window
        ((0.1, -0.2), 10, 32, ValueError),
        ((0.1, float("nan")), 10, 32, ValueError),
        ((0.1, 0.0), 10, 32, ValueError),
        ((0.1,), 0, 32, ValueError),
        ((0.1,), 10, 0, ValueError),
        ((0.1,), 2.5, 32, TypeError),
    ],
)
def test_step_times_reject_bad_values(seconds, steps, batch_size, error):
    with pytest.raises(error):
        StepTimes(seconds, steps, batch_size)


# --- Speedup -----------------------------------------------------------------------------------


def test_speedup_ratio_and_range_are_per_step():
    baseline = _times(1.0, 1.2, 1.1, steps=10)  # 100–120 ms/step, median 110
    candidate = _times(1.0, 1.1, 1.2, steps=20)  # 50–60 ms/step, median 55: twice as fast
    speedup = speed.compare(baseline, candidate)
    assert speedup.ratio == pytest.approx(2.0)
    assert speedup.range == pytest.approx((100 / 60, 120 / 50))
    assert speedup.verdict == "faster"
    assert speedup.describe("B", "A") == (
        "B trains 2.00× as fast as A (range 1.67–2.40 over the repeats): B is faster"
    )


def test_speedup_slower_and_tie():
    slow = speed.compare(_times(1.0, 1.1, 1.2), _times(3.0, 3.3, 3.1))
    assert slow.ratio < 1 and slow.verdict == "slower"
    assert slow.describe("XLA on", "XLA off").endswith(": XLA on is slower")
    # medians differ by 10 %, but the windows overlap: inside the noise of the repeats
    tie = speed.compare(_times(1.0, 1.1, 1.3), _times(0.95, 1.0, 1.2))
    assert tie.ratio == pytest.approx(1.1) and tie.verdict == TIE
    assert tie.describe("B", "A").endswith(": a tie")
    # a range that only touches 1 is still a tie
    assert speed.compare(_times(1.0, 2.0), _times(1.0)).verdict == TIE


def test_a_verdict_just_off_one_prints_enough_decimals_not_to_touch_one():
    # every round 0.2-0.6 % faster: at two decimals the range would read "1.00–1.01: faster"
    nudge = speed.compare(_times(1.002, 1.004, 1.006), _times(1.0, 1.0, 1.0), paired=True)
    assert nudge.verdict == "faster"
    assert nudge.describe("B", "A") == (
        "B trains 1.004× as fast as A (1.002–1.006 over 3 rounds): B is faster"
    )
    slower = speed.compare(_times(0.998, 0.999, 0.997), _times(1.0, 1.0, 1.0), paired=True)
    assert "(0.997–0.999 over 3 rounds): B is slower" in slower.describe("B", "A")
    # a tie, or a range clear of 1 at two decimals, keeps two
    tie = speed.compare(_times(1.0, 1.0, 1.0), _times(0.999, 1.001, 1.0), paired=True)
    assert "(1.00–1.00 over 3 rounds): a tie" in tie.describe("B", "A")


def test_paired_speedup_uses_the_ratio_of_each_round():
    # a slow spell in round 2 hits both set-ups: unpaired, the windows overlap (a tie); paired,
    # every round says the candidate is about twice as fast
    baseline, candidate = _times(1.0, 2.0, 1.0), _times(0.5, 1.0, 0.6)
    unpaired, paired = (
        speed.compare(baseline, candidate),
        speed.compare(baseline, candidate, paired=True),
    )
    assert unpaired.range == pytest.approx((1.0, 4.0)) and unpaired.verdict == TIE
    assert paired.ratio == unpaired.ratio == pytest.approx(1.0 / 0.6)  # of the medians
    assert paired.range == pytest.approx((1.0 / 0.6, 2.0)) and paired.verdict == "faster"
    assert paired.describe("B", "A") == (
        "B trains 1.67× as fast as A (1.67–2.00 over 3 rounds): B is faster"
    )
    # rounds that disagree on the direction are a tie, whatever the median says
    mixed = speed.compare(_times(1.0, 1.0, 1.0), _times(0.8, 1.1, 0.9), paired=True)
    assert mixed.ratio > 1 and mixed.verdict == TIE
    # windows of different lengths are compared per step
    per_step = speed.compare(_times(1.0, 1.0, steps=10), _times(1.0, 1.0, steps=40), paired=True)
    assert per_step.ratio == pytest.approx(4.0) and per_step.verdict == "faster"
    with pytest.raises(ValueError, match="as many windows"):
        speed.compare(_times(1.0, 1.0), _times(1.0), paired=True)


def test_paired_ratio_lies_inside_its_range():
    rng = np.random.default_rng(0)
    for _ in range(200):
        rounds = int(rng.integers(1, 8))
        baseline = StepTimes(tuple(rng.uniform(0.1, 3.0, rounds)), 5, 8)
        candidate = StepTimes(tuple(rng.uniform(0.1, 3.0, rounds)), 7, 8)
        speedup = speed.compare(baseline, candidate, paired=True)
        low, high = speedup.range
        assert low - 1e-12 <= speedup.ratio <= high + 1e-12


def test_speedup_rejects_non_step_times():
    with pytest.raises(TypeError):
        Speedup(1.0, _times(1.0))
    with pytest.raises(ValueError):
        speed.compare(_times(1.0), _times(1.0)).describe("", "A")


# --- time_steps --------------------------------------------------------------------------------


def test_time_steps_drops_the_warmup_window_and_the_first_step(clock):
    model = _ScriptedModel(clock, [9.0, 1.0, 3.0, 2.0])
    times = speed.time_steps(model, None, steps=7, batch_size=16, repeats=3)
    assert times.seconds == (1.0, 3.0, 2.0) and times.steps == 7 and times.batch_size == 16
    assert len(model.fit_calls) == 4  # a warm-up, then one fit per window
    for call in model.fit_calls:
        assert call["epochs"] == 1 and call["steps_per_epoch"] == 8  # 7 timed + the first
        assert call["verbose"] == 0


def test_time_interleaved_rotates_the_order_from_round_to_round(clock):
    log = []
    first = _ScriptedModel(clock, [5.0, 1.0, 1.5, 2.0], name="A", log=log)
    second = _ScriptedModel(clock, [5.0, 4.0, 3.0, 2.0], name="B", log=log)
    setups = {"A": (first, None), "B": (second, None)}
    times = speed.time_interleaved(setups, steps=4, batch_size=8, repeats=3)
    assert log == ["A", "B", "A", "B", "B", "A", "A", "B"]  # warm-ups, then AB, BA, AB
    assert times["A"].seconds == (1.0, 1.5, 2.0) and times["B"].seconds == (4.0, 3.0, 2.0)


def test_time_steps_says_when_the_dataset_runs_out(clock):
    model = _ScriptedModel(clock, [1.0] * 4, short=1)  # Keras ends a window early
    with pytest.raises(ValueError, match="ran out"):
        speed.time_steps(model, None, steps=5, batch_size=8, repeats=3)


@pytest.mark.parametrize("setups", [{}, [1, 2], {"a": "model"}, {"a": (object(), None)}])
def test_time_interleaved_rejects_bad_setups(setups):
    with pytest.raises(TypeError):
        speed.time_interleaved(setups, steps=2, batch_size=4)


def test_time_steps_rejects_bad_arguments():
    with pytest.raises(TypeError):
        speed.time_steps(object(), None, steps=5, batch_size=8)
    uncompiled = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    with pytest.raises(TypeError):
        speed.time_steps(uncompiled, None, steps=5, batch_size=8)
    with pytest.raises(ValueError):
        speed.time_steps(uncompiled, None, steps=0, batch_size=8)


def _tiny_model():
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _tiny_data(n=48):
    rng = np.random.default_rng(0)
    return rng.random((n, 4, 4, 1), dtype=np.float32), rng.integers(0, 3, n)


def test_time_steps_on_a_real_model():
    x, y = _tiny_data()
    dataset = speed.in_memory_batches(x, y, batch_size=8, steps=3)
    times = speed.time_steps(_tiny_model(), dataset, steps=3, batch_size=8, repeats=2)
    assert len(times.seconds) == 2 and all(s > 0 for s in times.seconds)


# --- in_memory_batches -------------------------------------------------------------------------


def test_in_memory_batches_replay_the_first_examples_in_order():
    x, y = _tiny_data()
    dataset = speed.in_memory_batches(x, y, batch_size=8, steps=3)
    batches = list(dataset.take(7))
    assert len(batches) == 7
    for i, (x_batch, y_batch) in enumerate(batches):
        first = 8 * (i % 3)  # three batches, then the same three again
        np.testing.assert_array_equal(x_batch.numpy(), x[first : first + 8])
        np.testing.assert_array_equal(y_batch.numpy(), y[first : first + 8])
    assert batches[0][0].dtype == tf.float32


def test_in_memory_batches_reject_too_few_or_mismatched_examples():
    x, y = _tiny_data(20)
    with pytest.raises(ValueError, match="need 24"):
        speed.in_memory_batches(x, y, batch_size=8, steps=3)
    with pytest.raises(ValueError, match="same length"):
        speed.in_memory_batches(x, y[:-1], batch_size=4, steps=2)


# --- policies ----------------------------------------------------------------------------------


def test_sixteen_bit_policy_follows_the_device(monkeypatch):
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    assert speed.sixteen_bit_policy() == "mixed_bfloat16"
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"])
    assert speed.sixteen_bit_policy() == "mixed_float16"


@pytest.mark.parametrize(
    "sixteen_bit_seconds,expected",
    [
        ((0.40, 0.45, 0.50), "mixed_bfloat16"),  # faster beyond the spread
        ((0.90, 1.20, 1.00), "float32"),  # the rounds disagree: a tie keeps float32
        ((3.0, 3.1, 3.2), "float32"),  # emulated bfloat16: slower
    ],
)
def test_faster_policy_chooses_16_bits_only_when_clearly_faster(
    monkeypatch, sixteen_bit_seconds, expected
):
    monkeypatch.setattr(speed, "sixteen_bit_policy", lambda: "mixed_bfloat16")
    scripted = {"float32": (1.0, 1.1, 1.2), "mixed_bfloat16": sixteen_bit_seconds}
    built_under = []

    def build_model():
        built_under.append(keras.mixed_precision.global_policy().name)
        return built_under[-1]  # stands in for the model; the timing below is scripted

    def fake_time_interleaved(setups, *, steps, batch_size, repeats):
        assert list(setups) == ["float32", "mixed_bfloat16"]
        return {name: StepTimes(scripted[setups[name][0]], steps, batch_size) for name in setups}

    monkeypatch.setattr(speed, "time_interleaved", fake_time_interleaved)
    before = keras.mixed_precision.global_policy().name
    choice = speed.faster_policy(build_model, None, steps=10, batch_size=32)
    assert built_under == ["float32", "mixed_bfloat16"]
    assert choice.policy == expected and choice.sixteen_bit == "mixed_bfloat16"
    assert choice.times["mixed_bfloat16"].seconds == sixteen_bit_seconds
    assert keras.mixed_precision.global_policy().name == before  # left as it was
    assert choice.describe().endswith(f"→ training in {expected}")


@pytest.mark.parametrize(
    "cpuinfo,native",
    [
        ("flags\t\t: fpu sse2 avx2 fma\n", False),  # an AVX2-only x86 CPU
        ("flags\t\t: avx2 avx512f avx512_bf16 amx_tile\n", True),
        ("flags\t\t: avx2 amx_bf16 amx_tile\n", True),
        ("Features\t: fp asimd bf16 i8mm\n", True),  # Arm
        ("Features\t: fp asimd\n", False),
    ],
)
def test_native_sixteen_bit_reads_the_cpu_flags(monkeypatch, tmp_path, cpuinfo, native):
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    (tmp_path / "cpuinfo").write_text("processor\t: 0\n" + cpuinfo)
    monkeypatch.setattr(speed, "CPU_FLAGS_FILE", tmp_path / "cpuinfo")
    assert speed.native_sixteen_bit() is native
    monkeypatch.setattr(speed, "CPU_FLAGS_FILE", tmp_path / "missing")
    assert speed.native_sixteen_bit() is True  # unknown: timing decides
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"])
    assert speed.native_sixteen_bit() is True


def test_faster_policy_skips_emulated_bfloat16_only_when_asked(monkeypatch):
    monkeypatch.setattr(speed, "native_sixteen_bit", lambda: False)
    monkeypatch.setattr(speed, "sixteen_bit_policy", lambda: "mixed_bfloat16")

    def never(*args, **kwargs):
        raise AssertionError("nothing should be built or timed")

    monkeypatch.setattr(speed, "time_interleaved", never)
    choice = speed.faster_policy(never, None, steps=10, batch_size=32, time_emulated=False)
    assert choice.policy == "float32" and choice.speedup is None and choice.times == {}
    assert "not timed" in choice.describe() and choice.describe().endswith("training in float32")
    with pytest.raises(TypeError, match="time_emulated"):
        speed.faster_policy(never, None, steps=10, batch_size=32, time_emulated="no")
    with pytest.raises(AssertionError, match="nothing should be built"):  # the default times
        speed.faster_policy(never, None, steps=10, batch_size=32)


def test_faster_policy_restores_the_policy_when_building_fails():
    before = keras.mixed_precision.global_policy().name

    def broken():
        raise RuntimeError("no model")

    with pytest.raises(RuntimeError, match="no model"):
        speed.faster_policy(broken, None, steps=2, batch_size=4)
    assert keras.mixed_precision.global_policy().name == before
    with pytest.raises(TypeError):
        speed.faster_policy("not callable", None, steps=2, batch_size=4)


def test_faster_policy_times_real_models_in_both_policies():
    x, y = _tiny_data()
    dataset = speed.in_memory_batches(x, y, batch_size=8, steps=2)
    dtypes = []

    def build_model():
        model = _tiny_model()
        dtypes.append(model.layers[-1].compute_dtype)
        return model

    choice = speed.faster_policy(build_model, dataset, steps=2, batch_size=8, repeats=2)
    assert dtypes == ["float32", "bfloat16"]  # this test machine has no GPU
    assert set(choice.times) == {"float32", "mixed_bfloat16"}
    assert choice.policy in choice.times


# --- fresh processes ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("speed") / "tiny.keras"
    _tiny_model().save(path)
    return path


def test_time_steps_in_subprocess_sees_its_environment(saved_model):
    env = {"KTT_SPEED_TEST_SWITCH": "on"}
    times = speed.time_steps_in_subprocess(saved_model, steps=2, batch_size=4, repeats=3, env=env)
    assert len(times.seconds) == 3 and times.steps == 2 and times.batch_size == 4
    assert "KTT_SPEED_TEST_SWITCH" not in os.environ  # only the child saw it


def _fake_child(returncode, stdout="", stderr=""):
    """A stand-in for ``subprocess.run`` that returns a finished child without starting one."""

    def run(command, *, env, **kwargs):
        return subprocess.CompletedProcess(command, returncode, stdout=stdout, stderr=stderr)

    return run


def test_time_steps_in_subprocess_reports_a_failing_child(saved_model, monkeypatch):
    monkeypatch.setattr(speed.subprocess, "run", _fake_child(1, stderr="Traceback: boom"))
    with pytest.raises(RuntimeError, match="failed:\nTraceback: boom"):
        speed.time_steps_in_subprocess(saved_model, steps=2, batch_size=4)


def test_time_steps_in_subprocess_refuses_a_setting_the_child_did_not_see(saved_model, monkeypatch):
    report = json.dumps({"seconds": [0.1, 0.2], "env": {"SWITCH": None}})  # the child lost it
    monkeypatch.setattr(speed.subprocess, "run", _fake_child(0, stdout=f"noise\n{report}\n"))
    with pytest.raises(RuntimeError, match="did not see"):
        speed.time_steps_in_subprocess(saved_model, steps=1, batch_size=2, env={"SWITCH": "0"})
    seen = json.dumps({"seconds": [0.1, 0.2], "env": {"SWITCH": "0"}})
    monkeypatch.setattr(speed.subprocess, "run", _fake_child(0, stdout=seen))
    times = speed.time_steps_in_subprocess(saved_model, steps=1, batch_size=2, env={"SWITCH": "0"})
    assert times.seconds == (0.1, 0.2)  # the last line of its output is the report


@pytest.mark.parametrize(
    "kwargs,error",
    [
        (dict(model_path=3), TypeError),
        (dict(model_path="missing.keras"), ValueError),
        (dict(env={"A": 1}), TypeError),
        (dict(env=["A"]), TypeError),
        (dict(timeout=0), ValueError),
        (dict(steps=0), ValueError),
    ],
)
def test_time_steps_in_subprocess_rejects_bad_arguments(saved_model, kwargs, error):
    arguments = dict(model_path=saved_model, steps=2, batch_size=4) | kwargs
    with pytest.raises(error):
        speed.time_steps_in_subprocess(**arguments)


# --- plots -------------------------------------------------------------------------------------


def test_plot_step_times_draws_every_window():
    import matplotlib.pyplot as plt

    times = {"float32": _times(1.0, 1.2, 1.1), "bfloat16": _times(0.5, 0.6, 0.55)}
    ax = speed.plot_step_times(times)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["float32", "bfloat16"]
    dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert [len(line.get_xdata()) for line in dots] == [3, 3]
    assert ax.get_xscale() == "log"
    low, high = ax.get_xlim()
    assert low < 50 and high > 120  # every window inside the axes
    plt.close("all")
    with pytest.raises(TypeError):
        speed.plot_step_times({"a": 1.0})


def test_plot_speedups_marks_ties_and_the_line_at_one():
    import matplotlib.pyplot as plt

    speedups = {
        "faster": speed.compare(_times(1.0, 1.1), _times(0.4, 0.45)),
        "tie": speed.compare(_times(1.0, 1.2), _times(1.0, 1.1)),
        "much slower": speed.compare(_times(1.0, 1.1), _times(10.0, 12.0)),
    }
    ax = speed.plot_speedups(speedups)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(speedups)
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == sorted(
        ["faster", TIE, "slower"]
    )
    low, high = ax.get_xlim()
    assert low < 1 / 12 and high > 2.75  # every range inside the axes, symmetric about 1
    assert low * high == pytest.approx(1.0)
    assert any(tuple(line.get_xdata()) == (1.0, 1.0) for line in ax.get_lines())
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert "1" in labels and "0.1" in labels
    plt.close("all")
    with pytest.raises(TypeError):
        speed.plot_speedups({})


def test_a_paired_range_holds_its_ratio_despite_rounding():
    """Median round = extreme round: the ratio of the medians and that round's ratio are computed
    differently and differed in the last bit, which made plot_speedups raise (negative xerr)."""
    import matplotlib.pyplot as plt

    baseline = speed.StepTimes((1.944, 0.236, 1.584), 20, 128)
    candidate = speed.StepTimes((1.003, 0.347, 0.796), 20, 128)
    speedup = speed.compare(baseline, candidate, paired=True)
    low, high = speedup.range
    assert low <= speedup.ratio <= high and high == pytest.approx(1.584 / 0.796)
    speed.plot_speedups({"rounded": speedup})
    plt.close("all")


def test_log_ticks_are_readable_and_inside_the_range():
    assert speed._log_ticks(0.7, 1.4) == [0.8, 1.0, 1.25]
    assert speed._log_ticks(0.05, 20.0) == [0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0]
    assert speed._log_ticks(30.0, 90.0) == [50.0, 80.0]


def test_speedup_compares_different_batch_sizes_per_example():
    small = StepTimes((1.0, 1.0), steps=10, batch_size=32)  # 3.125 ms per example
    large = StepTimes((2.0, 2.0), steps=10, batch_size=128)  # 1.5625 ms per example
    assert Speedup(small, large).ratio == pytest.approx(2.0)
    assert Speedup(small, large, paired=True).range == pytest.approx((2.0, 2.0))
    assert small.example_us == pytest.approx(3125.0)


def test_time_steps_with_steps_per_execution():
    model = _tiny_model()
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer="sgd", loss=loss, steps_per_execution=4)
    x, y = _tiny_data(64)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(8).repeat()
    times = speed.time_steps(model, data, steps=8, batch_size=8, repeats=2)
    assert len(times.seconds) == 2 and times.steps == 8
    with pytest.raises(ValueError, match="steps_per_execution"):
        speed.time_steps(model, data, steps=6, batch_size=8, repeats=1)


def test_time_interleaved_takes_a_batch_size_per_setup(clock):
    small = _ScriptedModel(clock, [1.0] * 3, name="small")
    large = _ScriptedModel(clock, [2.0] * 3, name="large")
    setups = {"small": (small, None), "large": (large, None, 16)}
    times = speed.time_interleaved(setups, steps=2, batch_size=4, repeats=2)
    assert times["small"].batch_size == 4 and times["large"].batch_size == 16
    assert speed.compare(times["small"], times["large"], paired=True).ratio == pytest.approx(2.0)
    with pytest.raises(ValueError, match="batch_size"):
        speed.time_interleaved({"bad": (small, None, 0)}, steps=2, batch_size=4)

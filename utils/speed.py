"""Training speed: time training steps with their spread, compare set-ups, pick a precision.

A speed measurement is noisy: another process, a cache, the clock frequency all move it. So a
set-up is timed over several **windows** of the same number of training steps, after one
untimed warm-up window (tracing, compiling, filling buffers), and reported as the median window
with the fastest and the slowest. Set-ups that are compared are timed **interleaved** (a window
of each in turn), so a slow spell of the machine hits them alike. Two set-ups compare as the
ratio of their median times per step; its range runs from the most pessimistic to the most
optimistic pairing of their windows (or, for interleaved set-ups, over the per-round ratios),
and when that range contains 1 the difference is inside the noise of the repeats: **a tie**.

``time_interleaved`` / ``time_steps`` time compiled models in this process,
``time_steps_in_subprocess`` a saved one in a fresh Python process (for switches TensorFlow
reads only when it starts, such as ``TF_ENABLE_ONEDNN_OPTS``), and ``faster_policy`` times
float32 against the device's 16-bit mixed-precision policy and returns the faster
(``native_sixteen_bit`` says whether the CPU has bfloat16 instructions at all).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._checks import check_int, check_str

TIE = "a tie"
FLOAT32 = "float32"


@dataclass(frozen=True)
class StepTimes:
    """The wall times of the timed windows of one set-up: ``steps`` training steps of
    ``batch_size`` examples each per window."""

    seconds: tuple[float, ...]
    steps: int
    batch_size: int

    def __post_init__(self):
        check_int("steps", self.steps, minimum=1)
        check_int("batch_size", self.batch_size, minimum=1)
        values = tuple(float(s) for s in self.seconds)
        if not values:
            raise ValueError("seconds must hold at least one timed window")
        if not all(np.isfinite(s) and s > 0 for s in values):
            raise ValueError(f"seconds must be positive and finite, got {values}")
        object.__setattr__(self, "seconds", values)

    @property
    def median(self) -> float:
        """Median seconds per window."""
        return statistics.median(self.seconds)

    @property
    def step_ms(self) -> float:
        """Median milliseconds per training step."""
        return 1e3 * self.median / self.steps

    @property
    def step_ms_range(self) -> tuple[float, float]:
        """(fastest, slowest) milliseconds per step over the windows."""
        return 1e3 * min(self.seconds) / self.steps, 1e3 * max(self.seconds) / self.steps

    @property
    def example_us(self) -> float:
        """Median microseconds per training example (compares set-ups of different batch sizes)."""
        return 1e6 * self.median / (self.steps * self.batch_size)

    @property
    def samples_per_second(self) -> float:
        """Training examples per second at the median window."""
        return self.steps * self.batch_size / self.median

    def __str__(self) -> str:
        low, high = self.step_ms_range
        return (
            f"{self.step_ms:.3g} ms/step (range {low:.3g}–{high:.3g}, {len(self.seconds)} windows)"
        )


@dataclass(frozen=True)
class Speedup:
    """How many times as fast ``candidate`` trains as ``baseline``, per training example (> 1:
    faster); for two set-ups of one batch size that is the ratio per step.

    The ratio is that of the two median times per example. ``paired=True`` (set-ups timed by
    :func:`time_interleaved`, whose i-th windows come from the same round): its range runs from
    the smallest to the largest per-round ratio, so a slow spell that hits one round hits both
    sides of it. ``paired=False``: a range that pairs the slowest window of one set-up with the
    fastest of the other, and the other way round. Either way a range that contains 1 is a tie;
    for paired rounds that means the rounds disagree on which set-up is faster.
    """

    baseline: StepTimes
    candidate: StepTimes
    paired: bool = False

    def __post_init__(self):
        for name in ("baseline", "candidate"):
            if not isinstance(getattr(self, name), StepTimes):
                raise TypeError(f"{name} must be StepTimes, got {type(getattr(self, name))}")
        if self.paired and len(self.baseline.seconds) != len(self.candidate.seconds):
            raise ValueError(
                "paired comparison needs as many windows on both sides, got "
                f"{len(self.baseline.seconds)} and {len(self.candidate.seconds)}"
            )

    def _round_ratios(self) -> list[float]:
        base, cand = self.baseline, self.candidate
        base_seconds = np.asarray(base.seconds) / (base.steps * base.batch_size)
        cand_seconds = np.asarray(cand.seconds) / (cand.steps * cand.batch_size)
        return list(base_seconds / cand_seconds)

    @property
    def ratio(self) -> float:
        """Baseline median time per example ÷ candidate median time per example (always inside
        ``range``: if every round's ratio is at least r, so is the ratio of the medians)."""
        return self.baseline.example_us / self.candidate.example_us

    @property
    def range(self) -> tuple[float, float]:
        """(lowest, highest) ratio: over the rounds (paired) or over all pairings (unpaired)."""
        if self.paired:
            ratios = self._round_ratios()
            # the ratio of the medians lies inside in exact arithmetic; rounding can put it one
            # float outside (then a plot's error bar would be negative): keep it inside
            return float(min(*ratios, self.ratio)), float(max(*ratios, self.ratio))
        base_low, base_high = (t / self.baseline.batch_size for t in self.baseline.step_ms_range)
        cand_low, cand_high = (t / self.candidate.batch_size for t in self.candidate.step_ms_range)
        return base_low / cand_high, base_high / cand_low

    @property
    def verdict(self) -> str:
        """``"faster"``, ``"slower"`` or ``"a tie"`` (the range contains 1)."""
        low, high = self.range
        if low > 1.0:
            return "faster"
        if high < 1.0:
            return "slower"
        return TIE

    def describe(self, candidate: str, baseline: str) -> str:
        """A sentence such as ``"XLA on trains 0.41× as fast as XLA off (0.38–0.44 in each of
        7 rounds): XLA on is slower"`` or ``"... (range 0.93–1.08 over the repeats): a tie"``."""
        check_str("candidate", candidate)
        check_str("baseline", baseline)
        low, high = self.range
        verdict = self.verdict
        reading = TIE if verdict == TIE else f"{candidate} is {verdict}"
        # enough decimals that a range which excludes 1 does not print as touching it
        # ("1.00–1.01 ...: faster" reads like a contradiction; "1.002–1.006" does not)
        nearest = low if verdict == "faster" else high
        digits = 2
        while verdict != TIE and digits < 6 and f"{nearest:.{digits}f}" == f"{1:.{digits}f}":
            digits += 1
        span = f"{low:.{digits}f}–{high:.{digits}f}"
        if self.paired:
            spread = f"{span} over {len(self.baseline.seconds)} rounds"
        else:
            spread = f"range {span} over the repeats"
        ratio = f"{self.ratio:.{digits}f}"
        return f"{candidate} trains {ratio}× as fast as {baseline} ({spread}): {reading}"


def compare(baseline: StepTimes, candidate: StepTimes, *, paired: bool = False) -> Speedup:
    """The :class:`Speedup` of ``candidate`` over ``baseline``; ``paired=True`` for set-ups
    timed together by :func:`time_interleaved`."""
    return Speedup(baseline, candidate, paired)


def _check_model(model) -> None:
    if not hasattr(model, "fit") or not getattr(model, "compiled", True):
        raise TypeError("model must be a compiled Keras model")


def _time_window(model, dataset, steps: int) -> float:
    """Seconds of ``steps`` training steps: one ``fit`` of ``steps + 1`` steps, timed from the end
    of its first step (which pays for starting the data iterator) to the end of the last.

    A model compiled with ``steps_per_execution=k`` runs k steps per call (and per callback):
    then ``steps`` must be a multiple of k, and the first k steps are the untimed ones."""
    import keras

    per_call = int(getattr(model, "steps_per_execution", 1) or 1)
    if steps % per_call:
        raise ValueError(
            f"steps ({steps}) must be a multiple of the model's steps_per_execution ({per_call})"
        )

    class _Window(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.done, self.start, self.seconds = 0, 0.0, float("nan")

        def on_train_batch_end(self, batch, logs=None):
            self.done += 1
            if self.done == 1:
                self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds = time.perf_counter() - self.start

    window = _Window()
    model.fit(
        dataset,
        epochs=1,
        steps_per_epoch=steps + per_call,
        callbacks=[window],
        shuffle=False,
        verbose=0,
    )
    if window.done != steps // per_call + 1:
        raise ValueError(
            f"asked for {steps + per_call} steps, the dataset gave {window.done * per_call}: it "
            "ran out; give it more batches (e.g. dataset.repeat())"
        )
    return window.seconds


def time_interleaved(
    setups: dict, *, steps: int, batch_size: int, repeats: int = 5
) -> dict[str, StepTimes]:
    """Times several set-ups fairly: ``{name: (compiled model, dataset)}`` → ``{name: StepTimes}``.

    Each set-up first runs one untimed warm-up window (tracing, compiling, filling buffers).
    Then ``repeats`` rounds time one window of ``steps`` steps of every set-up in turn, the
    order rotating from round to round, so a slow spell of the machine (another process, a
    clock change) falls on all set-ups alike instead of on whichever happened to run then.
    Each window is its own ``fit`` call, timed from the end of its first step, so starting the
    data iterator (e.g. filling a shuffle buffer) is not counted. ``dataset`` must not run out
    (use ``.repeat()``). The i-th window of every set-up comes from round i: compare two of them
    with ``compare(a, b, paired=True)``. A set-up may be a triple ``(model, dataset, batch_size)``
    when its batches differ in size from ``batch_size``; compare such set-ups per example.
    """
    steps = check_int("steps", steps, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    repeats = check_int("repeats", repeats, minimum=1)
    if not isinstance(setups, dict) or not setups:
        raise TypeError("setups must be a non-empty dict {name: (model, dataset)}")
    sizes = {}
    for name, setup in setups.items():
        if not (isinstance(setup, tuple) and len(setup) in (2, 3)):
            raise TypeError(
                f"setups[{name!r}] must be a (model, dataset) pair or a (model, dataset, "
                "batch_size) triple"
            )
        _check_model(setup[0])
        sizes[name] = check_int(
            f"setups[{name!r}]'s batch_size", (*setup, batch_size)[2], minimum=1
        )
    names = list(setups)
    for name in names:
        _time_window(*setups[name][:2], steps)  # warm-up
    seconds = {name: [] for name in names}
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            seconds[name].append(_time_window(*setups[name][:2], steps))
    return {name: StepTimes(tuple(seconds[name]), steps, sizes[name]) for name in names}


def time_steps(model, dataset, *, steps: int, batch_size: int, repeats: int = 5) -> StepTimes:
    """:func:`time_interleaved` of one set-up: ``repeats`` windows of ``steps`` training steps of
    a compiled Keras ``model`` on ``dataset``, after one warm-up window."""
    setups = {"model": (model, dataset)}
    times = time_interleaved(setups, steps=steps, batch_size=batch_size, repeats=repeats)
    return times["model"]


def in_memory_batches(x, y, *, batch_size: int, steps: int):
    """The first ``steps * batch_size`` examples as ``steps`` ready-made batches, replayed for
    ever: a ``tf.data.Dataset`` that costs the training loop (almost) nothing to read."""
    import tensorflow as tf

    batch_size = check_int("batch_size", batch_size, minimum=1)
    steps = check_int("steps", steps, minimum=1)
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    needed = steps * batch_size
    if len(x) < needed:
        raise ValueError(f"{steps} batches of {batch_size} need {needed} examples, got {len(x)}")
    x_batches = tf.constant(x[:needed].reshape(steps, batch_size, *x.shape[1:]))
    y_batches = tf.constant(y[:needed].reshape(steps, batch_size, *y.shape[1:]))
    dataset = tf.data.Dataset.from_tensor_slices((x_batches, y_batches))
    return dataset.cache().repeat().prefetch(2)


def sixteen_bit_policy() -> str:
    """The mixed-precision policy worth timing here: ``"mixed_float16"`` when TensorFlow sees a
    GPU (tensor cores), ``"mixed_bfloat16"`` on a CPU (fast only with native bfloat16
    instructions such as AVX-512 BF16 or AMX; emulated, and slow, elsewhere)."""
    import tensorflow as tf

    return "mixed_float16" if tf.config.list_physical_devices("GPU") else "mixed_bfloat16"


CPU_FLAGS_FILE = Path("/proc/cpuinfo")  # a module attribute so tests can point it elsewhere
BFLOAT16_FLAGS = {"avx512_bf16", "amx_bf16", "bf16"}  # x86 AVX-512 BF16 / AMX; Arm's BF16


def native_sixteen_bit() -> bool:
    """Whether this device runs 16-bit mixed precision in hardware.

    True on a GPU, and on a CPU whose flags list bfloat16 instructions (AVX-512 BF16 or AMX on
    x86, BF16 on Arm). False on a CPU without them (e.g. an AVX2-only x86 CPU), where TensorFlow
    emulates bfloat16 and a training step takes several times as long. Where the flags cannot be
    read (not Linux), True: timing is then the only way to know.
    """
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return True
    try:
        text = CPU_FLAGS_FILE.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True
    flags = set()
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() in {"flags", "features"}:
            flags.update(value.split())
    return bool(flags & BFLOAT16_FLAGS)


@dataclass(frozen=True)
class PolicyChoice:
    """The result of :func:`faster_policy` (``speedup`` is None when nothing was timed)."""

    policy: str
    times: dict
    speedup: Speedup | None
    sixteen_bit: str

    def describe(self) -> str:
        """E.g. ``"mixed_bfloat16 trains 1.84× as fast as float32 (range 1.71–1.95 over the
        repeats): mixed_bfloat16 is faster → training in mixed_bfloat16"``."""
        if self.speedup is None:
            return (
                f"{self.sixteen_bit} not timed: this CPU has no bfloat16 instructions (AVX-512 "
                "BF16 or AMX), so TensorFlow would emulate it, several times slower than "
                f"float32 → training in {self.policy}"
            )
        sentence = self.speedup.describe(self.sixteen_bit, FLOAT32)
        return f"{sentence} → training in {self.policy}"


def faster_policy(
    build_model,
    dataset,
    *,
    steps: int,
    batch_size: int,
    repeats: int = 3,
    time_emulated: bool = True,
) -> PolicyChoice:
    """Times float32 against :func:`sixteen_bit_policy` and returns the choice.

    ``build_model()`` must return a fresh, compiled model; it is called once under each global
    dtype policy, and the two models are timed interleaved (:func:`time_interleaved`). The
    16-bit policy is chosen only when it is faster beyond the spread of the
    repeats (see :class:`Speedup`); a tie keeps float32 (full precision, no surprises). The
    global policy is left as it was: set it with
    ``keras.mixed_precision.set_global_policy(choice.policy)``.

    ``time_emulated=False`` skips the timing where :func:`native_sixteen_bit` is False and
    keeps float32 (emulated bfloat16 is never the faster, and timing it is slow).
    """
    import keras

    if not callable(build_model):
        raise TypeError(f"build_model must be callable, got {type(build_model).__name__}")
    if not isinstance(time_emulated, bool):
        raise TypeError(f"time_emulated must be True or False, got {time_emulated!r}")
    sixteen_bit = sixteen_bit_policy()
    if not time_emulated and not native_sixteen_bit():
        return PolicyChoice(FLOAT32, {}, None, sixteen_bit)
    previous = keras.mixed_precision.global_policy().name
    setups = {}
    try:
        for policy in (FLOAT32, sixteen_bit):
            keras.mixed_precision.set_global_policy(policy)
            setups[policy] = (build_model(), dataset)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    times = time_interleaved(setups, steps=steps, batch_size=batch_size, repeats=repeats)
    speedup = compare(times[FLOAT32], times[sixteen_bit], paired=True)
    policy = sixteen_bit if speedup.verdict == "faster" else FLOAT32
    return PolicyChoice(policy, times, speedup, sixteen_bit)


_SUBPROCESS_SCRIPT = """
import json, os, sys
import utils
import keras, numpy as np
from utils import speed
args = json.loads(sys.argv[1])
seen = {name: os.environ.get(name) for name in args["env_names"]}  # as TensorFlow found them
keras.utils.set_random_seed(0)
model = keras.models.load_model(args["model_path"])
n = args["steps"] * args["batch_size"]
x = np.random.rand(n, *model.input_shape[1:]).astype("float32")
y = np.random.randint(0, model.output_shape[-1], size=n)
dataset = speed.in_memory_batches(x, y, batch_size=args["batch_size"], steps=args["steps"])
times = speed.time_steps(
    model, dataset, steps=args["steps"], batch_size=args["batch_size"], repeats=args["repeats"]
)
print(json.dumps({"seconds": list(times.seconds), "env": seen}))
"""


def time_steps_in_subprocess(
    model_path,
    *,
    steps: int,
    batch_size: int,
    repeats: int = 5,
    env: dict | None = None,
    timeout: float = 600.0,
) -> StepTimes:
    """:func:`time_steps` of a saved, compiled ``.keras`` model (on random inputs and integer
    labels of its shapes, as in-memory batches) in a fresh Python process whose environment is
    this one plus ``env``: ``time_steps_in_subprocess(path, steps=20, batch_size=128,
    env={"TF_ENABLE_ONEDNN_OPTS": "0"})``.

    The child reports each variable of ``env`` as it saw it once TensorFlow was loaded; if one
    differs from the value asked for (the measurement would not be of that setting), this
    raises ``RuntimeError`` instead of returning times.
    """
    if not isinstance(model_path, str | os.PathLike):
        raise TypeError(f"model_path must be a path, got {type(model_path).__name__}")
    model_path = Path(model_path)
    if model_path.suffix != ".keras" or not model_path.is_file():
        raise ValueError(f"model_path must be an existing .keras file, got {str(model_path)!r}")
    steps = check_int("steps", steps, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    repeats = check_int("repeats", repeats, minimum=1)
    env = {} if env is None else env
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env.items()
    ):
        raise TypeError("env must be a dict of str to str")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    args = dict(
        model_path=str(model_path),
        steps=steps,
        batch_size=batch_size,
        repeats=repeats,
        env_names=sorted(env),
    )
    proc = subprocess.run(
        [sys.executable, "-c", _SUBPROCESS_SCRIPT, json.dumps(args)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"timing subprocess failed:\n{proc.stderr[-2000:]}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    if report["env"] != env:
        raise RuntimeError(
            f"the timing subprocess did not see the environment it was given: asked for {env}, "
            f"it saw {report['env']}"
        )
    return StepTimes(tuple(report["seconds"]), steps, batch_size)


def _log_ticks(low: float, high: float) -> list[float]:
    """Readable tick values (1-2-5 steps, plus 0.8 and 1.25 on a narrow range) in [low, high]."""
    decades = range(int(np.floor(np.log10(low))) - 1, int(np.ceil(np.log10(high))) + 1)
    steps = (1.0, 2.0, 5.0) if high / low > 3 else (1.0, 1.25, 2.0, 5.0, 8.0)
    values = [round(m * 10.0**d, 10) for d in decades for m in steps]
    return [v for v in values if low <= v <= high] or [low, high]


def plot_step_times(times: dict, *, ax=None, title: str = "Time per training step"):
    """Every timed window of each set-up as a dot (milliseconds per step, log scale), the median
    as a bar; ``times`` maps a set-up's name to its :class:`StepTimes`. Returns the axes."""
    import matplotlib.pyplot as plt

    from .plots import log_axis

    if not isinstance(times, dict) or not times:
        raise TypeError("times must be a non-empty dict {name: StepTimes}")
    for name, value in times.items():
        if not isinstance(value, StepTimes):
            raise TypeError(f"times[{name!r}] must be StepTimes, got {type(value).__name__}")
    ax = ax or plt.subplots(figsize=(7, 0.45 * len(times) + 1.2))[1]
    for row, value in enumerate(times.values()):
        per_step = 1e3 * np.asarray(value.seconds) / value.steps
        ax.plot(per_step, np.full(len(per_step), row), "o", color="C0", alpha=0.6, markersize=5)
        ax.plot([value.step_ms] * 2, [row - 0.3, row + 0.3], color="C3", linewidth=2)
    ax.set_yticks(range(len(times)), labels=[str(n) for n in times])
    ax.invert_yaxis()
    low = min(min(v.step_ms_range) for v in times.values()) / 1.3
    high = max(max(v.step_ms_range) for v in times.values()) * 1.3
    ax.set_xlim(low, high)
    log_axis(ax, "x", ticks=_log_ticks(low, high))
    ax.set(xlabel="milliseconds per step (dots: timed windows; red bar: median)", title=title)
    ax.grid(alpha=0.3, axis="x", which="both")
    return ax


def plot_speedups(speedups: dict, *, ax=None, title: str = "Speed-up of each switch"):
    """Each :class:`Speedup` as a dot at its ratio with a bar over its range, on a log axis with
    a line at 1 (no change): a bar that crosses the line is a tie. Returns the axes."""
    import matplotlib.pyplot as plt

    from .plots import log_axis

    if not isinstance(speedups, dict) or not speedups:
        raise TypeError("speedups must be a non-empty dict {name: Speedup}")
    for name, value in speedups.items():
        if not isinstance(value, Speedup):
            raise TypeError(f"speedups[{name!r}] must be a Speedup, got {type(value).__name__}")
    colors = {"faster": "C2", "slower": "C3", TIE: "C7"}
    ax = ax or plt.subplots(figsize=(7, 0.5 * len(speedups) + 1.2))[1]
    ratios = []
    for row, value in enumerate(speedups.values()):
        low, high = value.range
        ratios += [low, high]
        ax.errorbar(
            value.ratio,
            row,
            xerr=[[value.ratio - low], [high - value.ratio]],
            fmt="o",
            color=colors[value.verdict],
            capsize=4,
            label=value.verdict,
        )
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_yticks(range(len(speedups)), labels=[str(n) for n in speedups])
    ax.invert_yaxis()
    span = max(max(ratios), 1 / min(ratios), 1.25) * 1.15
    ax.set_xlim(1 / span, span)
    log_axis(ax, "x", ticks=_log_ticks(1 / span, span))
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), fontsize=8, loc="best")
    ax.set(xlabel="× as fast (bars: the range of the comparison; < 1 is slower)", title=title)
    ax.grid(alpha=0.3, axis="x", which="both")
    return ax

"""Seeding, quiet logging and the one-line setup report each notebook prints."""

from __future__ import annotations

import logging
import os
import warnings

from ._checks import check_int


def quiet_tf() -> None:
    """Silences TensorFlow's C++ and Python logging. Call before importing TensorFlow.

    (Importing ``utils`` already sets the C++ variables; this also quiets absl/Python loggers.)
    """
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*np.object.*")


def seed_everything(seed: int = 42) -> int:
    """Seeds Python, NumPy and TensorFlow through ``keras.utils.set_random_seed``.

    On CPU this makes a run bit-for-bit repeatable across processes; returns the seed.
    """
    seed = check_int("seed", seed, minimum=0)
    import keras

    keras.utils.set_random_seed(seed)
    return seed


def onednn_enabled() -> bool:
    """Whether TensorFlow runs its CPU kernels through oneDNN.

    ``TF_ENABLE_ONEDNN_OPTS`` decides when it is set. Unset, TensorFlow decides by the CPU: on by
    default on x86 CPUs with AVX-512 VNNI/BF16 or AMX (recent Intel Xeons), off on AVX2-only CPUs
    such as many AMD EPYCs. No public API reports the choice, so TensorFlow's own answer is read
    from its private ``_pywrap_util_port.IsMklEnabled``; without it, the variable alone decides.
    """
    raw = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "").strip().lower()
    if raw:
        return raw not in {"0", "false", "no", "off"}
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:  # no TensorFlow, or the private module moved
        return True
    return bool(_pywrap_util_port.IsMklEnabled())


def device_name() -> str:
    """The device training runs on, in words: 'NVIDIA H100 ... (1 GPU)' or 'CPU (2 cores)'."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return f"CPU ({os.cpu_count()} cores)"
    details = tf.config.experimental.get_device_details(gpus[0])
    return f"{details.get('device_name', 'GPU')} ({len(gpus)} GPU)"


def setup(seed: int = 42) -> str:
    """The notebook setup step: quiet logging, seed everything, a Hangul fallback font for
    figures (:mod:`utils.fonts`), and a one-line report.

    The report names the TensorFlow/Keras versions, the device and whether quick mode is on.
    """
    seed = check_int("seed", seed, minimum=0)
    quiet_tf()
    try:
        import tensorflow as tf
    except ImportError as exc:  # installed from GitHub without an extra, outside Colab
        raise ImportError(
            f"TensorFlow is not installed ({exc}). Install it with the project: "
            "pip install 'keras-training-tips[cpu] @ git+https://github.com/keras-training-tips/"
            "keras-training-tips' ([gpu] for an NVIDIA GPU), or `make setup` in a checkout."
        ) from None
    import keras

    tf.get_logger().setLevel("ERROR")
    seed_everything(seed)
    from .fonts import use_hangul_font

    use_hangul_font()  # Korean figure labels draw as text, not boxes, when a Hangul font exists
    from .mode import is_quick

    device = device_name()
    if "CPU" in device:
        device += f", oneDNN {'on' if onednn_enabled() else 'off'}"
    mode = "QUICK (small subsets, few epochs)" if is_quick() else "full"
    return (
        f"TensorFlow {tf.__version__} · Keras {keras.__version__} · {device} · "
        f"mode: {mode} · seed {seed}"
    )

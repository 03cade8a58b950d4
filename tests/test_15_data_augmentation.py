"""15_data_augmentation: scratch flip and shift vs keras.layers.RandomFlip / RandomTranslation.

Keras's layers are random; we make them deterministic in two ways: RandomTranslation with a
factor range of one value (``(dy / H, dy / H)``), so the drawn shift is exactly ``dy`` pixels, and
RandomFlip's own ``transform_images`` with every flip forced on. For whole-pixel moves nothing is
interpolated, so outputs must agree exactly with ``interpolation="nearest"`` and to 1e-6 (float32
rounding of the shift ``dy / H * H``) with the default ``"bilinear"``. With
``interpolation="nearest"`` a random fractional shift must still be one of our whole-pixel shifts.
Statistical checks use a fixed seed and 5 standard errors.

Pad-and-crop (section 6) is Keras's own ``RandomCrop`` on an image padded with ``keras.ops.pad``;
with a black border it must equal one of our whole-pixel shifts, exactly, and it must draw a new
window per image, because ``RandomCrop`` on a batch moves every image of it the same way.
"""

import keras
import numpy as np
import pytest
from nbcode import scratch

ns = scratch("15_data_augmentation")
hflip = ns["hflip"]
translate = ns["translate"]
random_flip_and_shift = ns["random_flip_and_shift"]
make_pad_and_crop = ns["make_pad_and_crop"]
pad = ns["pad"]

TOL = {"nearest": 0.0, "bilinear": 1e-6}


def _images(n=16, h=20, w=32, c=3, seed=0):
    """Random non-square images with several channels, so a swapped axis cannot pass."""
    return np.random.default_rng(seed).uniform(0.05, 1.0, (n, h, w, c)).astype("float32")


def _np(t):
    return keras.ops.convert_to_numpy(t)


def test_hflip_matches_forced_keras_flip():
    x = _images()
    layer = keras.layers.RandomFlip("horizontal")
    forced = {"flips": np.ones((len(x), 1, 1, 1), dtype=bool), "input_shape": x.shape}
    np.testing.assert_array_equal(hflip(x), _np(layer.transform_images(x, forced)))
    assert hflip(x).shape == x.shape
    np.testing.assert_array_equal(hflip(hflip(x)), x)  # an involution
    np.testing.assert_array_equal(hflip(x[0]), hflip(x)[0])  # one image (H, W, C) too


def test_random_keras_flip_is_either_identity_or_our_flip():
    x = _images(n=2000, h=6, w=5, c=2, seed=1)
    out = _np(keras.layers.RandomFlip("horizontal", seed=3)(x, training=True))
    same = np.all(out == x, axis=(1, 2, 3))
    ours = np.all(out == hflip(x), axis=(1, 2, 3))
    assert np.all(same | ours)
    # flipped with probability 1/2: the fraction has std sqrt(1/4 / n); allow 5 of them.
    assert abs(ours.mean() - 0.5) < 5 * np.sqrt(0.25 / len(x))
    np.testing.assert_array_equal(_np(keras.layers.RandomFlip("horizontal")(x, training=False)), x)


SHIFTS = [(0, 0), (1, 0), (0, 1), (-3, 2), (5, -7), (-19, 31), (19, -31), (20, 0), (0, -32)]


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("dy, dx", SHIFTS)
def test_translate_matches_keras_with_fixed_factor(dy, dx, interpolation):
    x = _images(seed=2)
    h, w = x.shape[1:3]
    layer = keras.layers.RandomTranslation(
        (dy / h, dy / h), (dx / w, dx / w), fill_mode="constant", interpolation=interpolation
    )
    keras_out = _np(layer(x, training=True))
    np.testing.assert_allclose(translate(x, dy, dx), keras_out, rtol=0, atol=TOL[interpolation])


@pytest.mark.parametrize("seed", range(5))
def test_translate_matches_keras_for_random_shifts_and_fill(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(8, 40, size=2)
    x = _images(n=4, h=h, w=w, c=1, seed=seed)
    dy, dx = int(rng.integers(-h + 1, h)), int(rng.integers(-w + 1, w))
    fill = float(rng.uniform(0.1, 0.9))
    layer = keras.layers.RandomTranslation(
        (dy / h, dy / h),
        (dx / w, dx / w),
        fill_mode="constant",
        fill_value=fill,
        interpolation="nearest",
    )
    np.testing.assert_array_equal(translate(x, dy, dx, fill=fill), _np(layer(x, training=True)))


@pytest.mark.parametrize("interpolation, whole_pixels", [("nearest", True), ("bilinear", False)])
def test_random_fractional_translation_moves_whole_pixels_only_with_nearest(
    interpolation, whole_pixels
):
    """The notebook trains with RandomTranslation(0.07, interpolation="nearest"): every output
    must be one of our whole-pixel shifts; with bilinear, fractional shifts blend pixels."""
    x = _images(n=32, h=28, w=28, c=1, seed=12)
    layer = keras.layers.RandomTranslation(
        0.07, 0.07, fill_mode="constant", interpolation=interpolation, seed=13
    )
    out = _np(layer(x, training=True))
    moves = range(-2, 3)  # 0.07 * 28 = 1.96 pixels at most
    is_whole = [
        any(np.array_equal(translate(img, dy, dx), o) for dy in moves for dx in moves)
        for img, o in zip(x, out, strict=True)
    ]
    if whole_pixels:
        assert all(is_whole)
    else:
        assert not all(is_whole)  # some draws are fractions of a pixel, interpolated


def test_translate_moves_down_and_right_and_zero_fills():
    x = np.arange(1, 13, dtype="float32").reshape(1, 3, 4, 1)
    out = translate(x, 1, 2)[0, ..., 0]
    np.testing.assert_array_equal(out, [[0, 0, 0, 0], [0, 0, 1, 2], [0, 0, 5, 6]])
    assert translate(x, 0, 0) is not x  # a copy, never the input itself
    np.testing.assert_array_equal(translate(x, 0, 0), x)
    np.testing.assert_array_equal(translate(x, 3, 0), np.zeros_like(x))  # out of view
    np.testing.assert_array_equal(translate(x, 0, -9, fill=7.0), np.full_like(x, 7.0))


def test_random_flip_and_shift_outputs_are_flips_and_shifts_in_range():
    x = _images(n=300, h=9, w=11, c=1, seed=4)
    max_shift = 2
    out = random_flip_and_shift(x, max_shift, np.random.default_rng(5))
    assert out.shape == x.shape and out.dtype == x.dtype
    moves = range(-max_shift, max_shift + 1)
    seen, flips = set(), 0
    for img, o in zip(x, out, strict=True):
        found = [
            (f, dy, dx)
            for f, src in ((False, img), (True, hflip(img)))
            for dy in moves
            for dx in moves
            if np.array_equal(translate(src, dy, dx), o)
        ]
        assert len(found) == 1, "each output is exactly one flip-and-shift of its input"
        flips += found[0][0]
        seen.add(found[0][1:])
    assert len(seen) == len(moves) ** 2  # every shift in range is drawn
    assert abs(flips / len(x) - 0.5) < 5 * np.sqrt(0.25 / len(x))


def test_random_flip_and_shift_is_reproducible_and_no_shift_is_flip_only():
    x = _images(n=50, seed=6)
    a = random_flip_and_shift(x, 3, np.random.default_rng(7))
    b = random_flip_and_shift(x, 3, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    out = random_flip_and_shift(x, 0, np.random.default_rng(8))
    assert all(
        np.array_equal(o, i) or np.array_equal(o, hflip(i)) for o, i in zip(out, x, strict=True)
    )


@pytest.mark.parametrize(
    "layer",
    [
        keras.layers.RandomFlip("horizontal"),
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),
        keras.layers.RandomRotation(0.05, fill_mode="constant"),
        keras.layers.RandomZoom(0.1, fill_mode="constant"),
        keras.layers.RandomContrast(0.3, value_range=(0, 1)),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_every_layer_is_the_identity_at_inference_and_random_in_training(layer):
    x = _images(n=8, h=28, w=28, c=1, seed=9)
    np.testing.assert_array_equal(_np(layer(x, training=False)), x)
    assert not np.array_equal(_np(layer(x, training=True)), x)


def _whole_pixel_shifts_of(image, out, reach):
    moves = range(-reach, reach + 1)
    return [
        (dy, dx) for dy in moves for dx in moves if np.array_equal(translate(image, dy, dx), out)
    ]


def test_pad_and_crop_is_one_whole_pixel_shift_with_black_fill():
    x = _images(n=200, h=20, w=32, c=3, seed=20)
    pad_and_crop = make_pad_and_crop(seed=21, height=20, width=32)
    seen = set()
    for image in x:
        out = _np(pad_and_crop(image))
        assert out.shape == image.shape and out.dtype == image.dtype
        shifts = _whole_pixel_shifts_of(image, out, pad)
        assert len(shifts) == 1, "exactly one shift by at most `pad` pixels"
        seen.add(shifts[0])
    assert len(seen) == (2 * pad + 1) ** 2  # every window of the padded image is drawn


def test_pad_and_crop_is_reproducible_with_its_seed():
    x = _images(n=20, h=28, w=28, c=1, seed=22)
    first, second = make_pad_and_crop(seed=23), make_pad_and_crop(seed=23)
    for image in x:
        np.testing.assert_array_equal(_np(first(image)), _np(second(image)))


def test_keras_random_crop_draws_one_window_per_batch():
    """Why the notebook crops image by image: on a batch, every image gets the same window."""
    x = _images(n=64, h=28, w=28, c=1, seed=24)
    padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    out = _np(keras.layers.RandomCrop(28, 28, seed=25)(padded, training=True))
    shifts = {
        tuple(_whole_pixel_shifts_of(image, o, pad)[0]) for image, o in zip(x, out, strict=True)
    }
    assert len(shifts) == 1

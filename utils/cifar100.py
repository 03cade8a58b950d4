"""CIFAR-100: its class tables, its archive (or Keras's extracted folder) and how it is read.

:func:`load_cifar100` returns what ``keras.datasets.cifar100.load_data()`` returns. The archive is
found and verified by :mod:`utils.sources`; an already extracted folder is verified by the MD5s of
its files. The pickled batches are read by an unpickler that accepts NumPy arrays and nothing
else. With no copy, :func:`utils.standins.real_or_standin` decides.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile

import numpy as np

from . import standins
from ._checks import check_choice
from .sources import DataCorruptError, FileSpec, find_local, keras_cache_dir, locate, mirror_dir

# CIFAR-100's 20 superclasses and their 5 classes each, as in the dataset's documentation.
_CIFAR100_GROUPS = {
    "aquatic_mammals": ("beaver", "dolphin", "otter", "seal", "whale"),
    "fish": ("aquarium_fish", "flatfish", "ray", "shark", "trout"),
    "flowers": ("orchid", "poppy", "rose", "sunflower", "tulip"),
    "food_containers": ("bottle", "bowl", "can", "cup", "plate"),
    "fruit_and_vegetables": ("apple", "mushroom", "orange", "pear", "sweet_pepper"),
    "household_electrical_devices": ("clock", "keyboard", "lamp", "telephone", "television"),
    "household_furniture": ("bed", "chair", "couch", "table", "wardrobe"),
    "insects": ("bee", "beetle", "butterfly", "caterpillar", "cockroach"),
    "large_carnivores": ("bear", "leopard", "lion", "tiger", "wolf"),
    "large_man-made_outdoor_things": ("bridge", "castle", "house", "road", "skyscraper"),
    "large_natural_outdoor_scenes": ("cloud", "forest", "mountain", "plain", "sea"),
    "large_omnivores_and_herbivores": ("camel", "cattle", "chimpanzee", "elephant", "kangaroo"),
    "medium_mammals": ("fox", "porcupine", "possum", "raccoon", "skunk"),
    "non-insect_invertebrates": ("crab", "lobster", "snail", "spider", "worm"),
    "people": ("baby", "boy", "girl", "man", "woman"),
    "reptiles": ("crocodile", "dinosaur", "lizard", "snake", "turtle"),
    "small_mammals": ("hamster", "mouse", "rabbit", "shrew", "squirrel"),
    "trees": ("maple_tree", "oak_tree", "palm_tree", "pine_tree", "willow_tree"),
    "vehicles_1": ("bicycle", "bus", "motorcycle", "pickup_truck", "train"),
    "vehicles_2": ("lawn_mower", "rocket", "streetcar", "tank", "tractor"),
}
CIFAR100_COARSE = tuple(_CIFAR100_GROUPS)
CIFAR100_FINE = tuple(sorted(f for group in _CIFAR100_GROUPS.values() for f in group))
CIFAR100_FINE_TO_COARSE = np.array(
    [next(i for i, g in enumerate(_CIFAR100_GROUPS.values()) if f in g) for f in CIFAR100_FINE]
)

CIFAR100_TAR = FileSpec(
    "cifar-100-python.tar.gz",
    "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
    "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
)
# MD5s of the files inside the CIFAR-100 archive, to verify an already extracted folder.
CIFAR100_MEMBER_MD5 = {
    "train": "16019d7e3df5f24257cddd939b257f8d",
    "test": "f0ef6b0ae62326f3e7ffdfab6717acfc",
    "meta": "7973b15100ade9c7d40fb424638fde48",
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles CIFAR's batches (dicts of NumPy arrays and lists) and nothing else."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR file")


def _cifar_batch(raw: bytes, label_key: str):
    d = _NumpyOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    d = {k.decode("utf8"): v for k, v in d.items()}
    x = np.asarray(d["data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    y = np.reshape(np.asarray(d[label_key], dtype=np.int64), (-1, 1))
    return x, y


def _cifar_folders():
    """Already extracted CIFAR-100 folders (Keras's own layouts included), in lookup order."""
    roots = [(keras_cache_dir(), "cache")]
    mirror = mirror_dir()
    if mirror is not None:
        roots.append((mirror, "mirror"))
    for root, source in roots:
        for sub in (
            "cifar-100-python",
            "cifar-100-python-target/cifar-100-python",
            "cifar-100-python-target_extracted/cifar-100-python",
        ):
            if (root / sub / "train").is_file():
                yield root / sub, source


def _cifar_members(label_key: str):
    """(train, test, source, details) from a verified archive or extracted folder."""
    found = find_local(CIFAR100_TAR)
    if found is None:
        for folder, source in _cifar_folders():
            raw = {}
            for member, md5 in CIFAR100_MEMBER_MD5.items():
                path = folder / member
                data = path.read_bytes() if path.is_file() else b""
                if hashlib.md5(data).hexdigest() != md5:
                    raise DataCorruptError(
                        f"{path} is missing, truncated or corrupted (MD5 "
                        f"mismatch); delete {folder} and get a fresh copy"
                    )
                raw[member] = data
            return (
                _cifar_batch(raw["train"], label_key),
                _cifar_batch(raw["test"], label_key),
                source,
                str(folder),
            )
        found = locate("CIFAR-100", CIFAR100_TAR)
    with tarfile.open(found.path) as tar:
        train = _cifar_batch(tar.extractfile("cifar-100-python/train").read(), label_key)
        test = _cifar_batch(tar.extractfile("cifar-100-python/test").read(), label_key)
    return train, test, found.source, str(found.path)


def load_cifar100(label_mode: str = "fine", *, standin: str = "auto") -> standins.Loaded:
    """CIFAR-100: x uint8 (50000, 32, 32, 3) / (10000, 32, 32, 3), y int64 of shape (n, 1)."""
    check_choice("label_mode", label_mode, ("fine", "coarse"))
    return standins.real_or_standin(
        f"CIFAR-100 ({label_mode})",
        CIFAR100_FINE if label_mode == "fine" else CIFAR100_COARSE,
        standin,
        lambda: _cifar_members(f"{label_mode}_labels"),
        lambda: standins.cifar100(CIFAR100_FINE_TO_COARSE, label_mode),
    )

"""Shared, tested helpers for the Keras Training Tips notebooks.

Importing ``utils`` quiets TensorFlow's C++ logging *before* TensorFlow is imported (those
stderr lines clutter notebooks and executed copies), so notebooks import ``utils`` first.
Nothing else happens on import: data, TensorFlow and Matplotlib load only when asked for.
"""

import os as _os

# Must run before `import tensorflow`; setdefault keeps any value the user chose.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

__version__ = "0.1.0"

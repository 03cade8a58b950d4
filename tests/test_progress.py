"""progress.LiveProgress: one line kept up to date while fit runs, removed when it ends."""

import keras
import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from utils import progress


def tiny_fit(callback, epochs=3, validation=True):
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(
        "sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
    )
    validation_data = (x, y) if validation else None
    return model.fit(
        x,
        y,
        batch_size=16,
        epochs=epochs,
        validation_data=validation_data,
        callbacks=[callback],
        verbose=0,
    )


def test_lines_follow_the_fit_and_the_last_one_removes_it():
    shown = []
    tiny_fit(progress.LiveProgress("run A", interval=0, delay=0, show=shown.append))
    assert shown[0].startswith("training · run A · epoch 1/3")
    assert shown[-1] == ""  # removed when the fit ends
    texts = shown[1:-1]
    assert any("batch 4/4" in text for text in texts)  # 64 examples / 16 per batch
    assert any("epoch 3/3" in text for text in texts)
    history_keys = ("loss", "accuracy", "val_loss", "val_accuracy")
    after_an_epoch = [text for text in texts if "last epoch:" in text]
    assert after_an_epoch and all(key in after_an_epoch[-1] for key in history_keys)


def test_the_interval_throttles_batch_updates():
    shown = []
    tiny_fit(progress.LiveProgress(interval=3600, delay=0, show=shown.append), epochs=2)
    # start, two epoch ends, the removal: no batch line within an hour
    assert len(shown) == 4 and not any("batch" in text for text in shown)


def test_a_fit_shorter_than_the_delay_shows_nothing():
    shown = []
    tiny_fit(progress.LiveProgress(interval=0, delay=3600, show=shown.append), epochs=2)
    assert shown == []


def test_outside_ipython_it_shows_nothing_and_fits_normally():
    history = tiny_fit(progress.LiveProgress(), epochs=2, validation=False)
    assert len(history.history["loss"]) == 2


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"label": 3}, TypeError, "label"),
        ({"interval": -1}, ValueError, "interval"),
        ({"interval": "1"}, TypeError, "interval"),
        ({"delay": -1}, ValueError, "delay"),
        ({"show": "print"}, TypeError, "show"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, error, name):
    with pytest.raises(error, match=name):
        progress.LiveProgress(**kwargs)


def test_in_a_kernel_the_saved_output_keeps_no_progress_line():
    """Executed as make run does: the display is updated in place, then emptied."""
    code = (
        "import numpy as np, keras\n"
        "from utils import progress\n"
        "x = np.zeros((64, 4), 'float32'); y = np.zeros(64, 'int32')\n"
        "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])\n"
        "model.compile('sgd', 'sparse_categorical_crossentropy')\n"
        "model.fit(x, y, epochs=3, verbose=0, callbacks=[progress.LiveProgress('demo', delay=0)])\n"
        "print('done')"
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    outputs = notebook.cells[0].outputs
    displays = [output for output in outputs if output.output_type == "display_data"]
    assert len(displays) == 1 and displays[0].data["text/plain"] == ""
    assert any(output.get("text", "").strip() == "done" for output in outputs)


def test_in_a_kernel_a_short_fit_leaves_no_output():
    code = (
        "import numpy as np, keras\n"
        "from utils import progress\n"
        "x = np.zeros((64, 4), 'float32'); y = np.zeros(64, 'int32')\n"
        "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])\n"
        "model.compile('sgd', 'sparse_categorical_crossentropy')\n"
        "model.fit(x, y, epochs=2, verbose=0, callbacks=[progress.LiveProgress()])"
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    assert [o for o in notebook.cells[0].outputs if o.output_type == "display_data"] == []

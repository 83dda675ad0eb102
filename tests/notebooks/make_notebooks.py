"""Writes the test notebooks (run once; the files are committed)."""
import json, nbformat
from nbformat.v4 import new_notebook, new_code_cell, new_markdown_cell, new_raw_cell, new_output

def lines(s):
    return s.splitlines(keepends=True)

# --- Colab-style trainer with the report's bugs (Colab's layout: indent 2, nbformat keys first) ---
cells = [
    ("markdown", "# Segmentation trainer (Colab)\nTrains a small conv net with batch norm.", None),
    ("code", "%tensorflow_version 1.x\n!pip install -q tqdm\nimport tensorflow as tf\nprint(tf.__version__)", [
        {"name": "stdout", "output_type": "stream", "text": ["TensorFlow 1.x selected.\n", "1.15.2\n"]}]),
    ("markdown", "## Model\nThe helpers from the report.", None),
    ("code", "def bn(inp, train_flag, name=None):\n    return tf.layers.batch_normalization(inp, training=train_flag, name=name)\n\n\n"
             "def conv(x, filters, train_flag, name=None):\n    x = tf.layers.conv2d(x, filters, 3, padding='same', use_bias=False, name=name)\n"
             "    x = bn(x, train_flag, name=None if name is None else name + '/bn')\n    return tf.nn.relu(x)\n\n\n"
             "def setup_network(inp, label, train_flag):\n    x = conv(inp, 32, train_flag)\n    x = conv(x, 64, train_flag)\n"
             "    logits = tf.layers.dense(tf.reduce_mean(x, [1, 2]), 10)\n"
             "    loss = tf.losses.sparse_softmax_cross_entropy(label, logits)\n    return loss, logits", []),
    ("code", "train_flag = tf.placeholder(tf.bool, name='train_flag')\ninps = tf.placeholder(tf.float32, [None, 32, 32, 3])\n"
             "labels = tf.placeholder(tf.int32, [None])\nupdate_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n"
             "loss, logits = setup_network(inps, labels, train_flag)\noptim = tf.train.AdamOptimizer(1e-3)\n"
             "with tf.control_dependencies(update_ops):\n    train_op = optim.minimize(loss)", []),
    ("code", "val_loss, val_logits = setup_network(inps, labels, False)", []),
    ("code", "import numpy as np\nsess = tf.Session()\nsess.run(tf.global_variables_initializer())\n"
             "for step in range(3):\n    x = np.random.rand(8, 32, 32, 3).astype('float32')\n"
             "    y = np.random.randint(0, 10, 8)\n    _, l = sess.run([train_op, loss], {inps: x, labels: y, train_flag: True})\n"
             "    print('step', step, 'loss', l)", [
        {"name": "stdout", "output_type": "stream", "text": ["step 0 loss 2.41\n", "step 1 loss 2.29\n", "step 2 loss 2.18\n"]},
        {"data": {"image/png": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==\n",
                  "text/plain": ["<Figure size 432x288 with 1 Axes>"]}, "metadata": {"needs_background": "light"}, "output_type": "display_data"}]),
]
nb = {"nbformat": 4, "nbformat_minor": 0, "metadata": {
        "colab": {"name": "trainer.ipynb", "provenance": [], "collapsed_sections": []},
        "kernelspec": {"name": "python3", "display_name": "Python 3"}, "accelerator": "GPU"}, "cells": []}
for i, (kind, src, outputs) in enumerate(cells):
    cell = {"cell_type": kind, "metadata": {"id": f"c{i:04d}x"}, "source": lines(src)}
    if kind == "code":
        cell["metadata"]["colab"] = {"base_uri": "https://localhost:8080/"}
        cell["execution_count"] = i
        cell["outputs"] = outputs
    nb["cells"].append(cell)
nbformat.validate(nbformat.from_dict(nb))
with open("tests/notebooks/colab_trainer.ipynb", "w", encoding="utf-8") as fh:
    fh.write(json.dumps(nb, indent=2, ensure_ascii=False))  # Colab: no final newline

# --- magics and shell lines (JupyterLab's layout, via nbformat) -------------------------------------
nb = new_notebook()
nb.metadata.update({"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                    "language_info": {"name": "python", "version": "3.10.12"}})
nb.cells = [
    new_markdown_cell("Magics, shell lines and help: none may break the parse or move a finding — ünïcode too."),
    new_code_cell("%load_ext autoreload\n%autoreload 2\n%matplotlib inline\n!nvidia-smi -L\nfiles = !ls data\nimport tensorflow as tf"),
    new_code_cell("%%bash\necho 'not python: ( ['\nls -la"),
    new_code_cell("tf.layers.batch_normalization?\n??tf.train.AdamOptimizer\nx = tf.zeros([4, 3])\ndoc = '''\n%not a magic\n!nor this\n'''"),
    new_raw_cell("raw cell: y = tf.layers.batch_normalization(x)\n%%not code"),
    new_code_cell("%%time\nfor i in range(2):\n    !echo step $i\n    x = tf.layers.batch_normalization(x, training=True)  # BN"),
    new_code_cell("loss = tf.reduce_sum(x)\n%time train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)\n"
                  "train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)"),
]
nb.cells[1].outputs = [new_output("stream", name="stdout", text="GPU 0: Tesla T4 (UUID: GPU-123)\n")]
nb.cells[1].execution_count = 1
nbformat.validate(nb)
nbformat.write(nb, "tests/notebooks/magics.ipynb")

# --- a healthy notebook: Keras with BN, trained and evaluated correctly ------------------------------
nb = new_notebook()
nb.metadata.update({"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}})
nb.cells = [
    new_markdown_cell("# Healthy Keras notebook"),
    new_code_cell("import tensorflow as tf\nfrom tensorflow import keras"),
    new_code_cell("model = keras.Sequential([\n    keras.layers.Conv2D(8, 3, use_bias=False, input_shape=(32, 32, 3)),\n"
                  "    keras.layers.BatchNormalization(),\n    keras.layers.ReLU(),\n    keras.layers.GlobalAveragePooling2D(),\n"
                  "    keras.layers.Dense(10),\n])\nmodel.compile('adam', keras.losses.SparseCategoricalCrossentropy(from_logits=True))"),
    new_code_cell("%%time\nimport numpy as np\nx = np.random.rand(16, 32, 32, 3).astype('float32')\ny = np.random.randint(0, 10, 16)\n"
                  "model.fit(x, y, epochs=1, verbose=0)\nprint(model.evaluate(x, y, verbose=0))"),
]
nbformat.validate(nb)
nbformat.write(nb, "tests/notebooks/healthy.ipynb")

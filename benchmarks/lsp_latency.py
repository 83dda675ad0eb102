"""Latency of ``bnlint server``: the real server process, driven over stdio by a JSON-RPC client.

A 600-line TF1 trainer importing two local modules (models.py builds the BN layers, optim.py the
training step) is generated in a temporary folder. Measured: first diagnostics after didOpen (the
server is started and initialised before), then 50 edits (didChange, one line changed each time),
each timed from sending the change to receiving the diagnostics of that version; the time includes
the server's debounce (30 ms by default; ``--debounce MS`` to change it). Goal: p95 <= 150 ms.

    .venv/bin/python benchmarks/lsp_latency.py [--edits 50] [--debounce 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))

from lsp_client import LspClient, uri_of  # noqa: E402

MODELS = '''\
import tensorflow as tf


def bn(x, training, name=None):
    return tf.layers.batch_normalization(x, training=training, name=name)


def conv_bn(x, filters, training, stride=1, name=None):
    x = tf.layers.conv2d(x, filters, 3, strides=stride, padding="same", use_bias=False, name=name)
    return tf.nn.relu(bn(x, training))


def small_cnn(images, training, classes=10):
    x = conv_bn(images, 32, training)
    x = conv_bn(x, 64, training, stride=2)
    x = conv_bn(x, 128, training, stride=2)
    x = tf.reduce_mean(x, [1, 2])
    return tf.layers.dense(x, classes)
'''

OPTIM = '''\
import tensorflow as tf


def make_step(loss, learning_rate, global_step):
    optimizer = tf.train.MomentumOptimizer(learning_rate, 0.9)
    return optimizer.minimize(loss, global_step=global_step)


def learning_rate(global_step, base=0.1):
    return tf.train.exponential_decay(base, global_step, 1000, 0.9)
'''

HEAD = '''\
"""A generated trainer: flags, input pipeline, model, step, evaluation, many helpers."""
import numpy as np
import tensorflow as tf

from models import small_cnn
from optim import learning_rate, make_step

BATCH = 32
'''

HELPER = '''

def augment_{i}(images, seed={i}):
    """Random flips and crops, variant {i}."""
    images = tf.image.random_flip_left_right(images, seed=seed)
    images = tf.image.resize_with_crop_or_pad(images, 36, 36)
    images = tf.image.random_crop(images, [BATCH, 32, 32, 3], seed=seed)
    scale = tf.constant({i}.0 / 100.0)
    return images * (1.0 + scale)
'''

TAIL = '''

images = tf.placeholder(tf.float32, [None, 32, 32, 3])
labels = tf.placeholder(tf.int32, [None])
is_training = tf.placeholder(tf.bool, [])
global_step = tf.train.get_or_create_global_step()
logits = small_cnn(augment_0(images), is_training)
loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
train_op = tf.train.MomentumOptimizer(learning_rate(global_step), 0.9).minimize(loss, global_step)  # BNL003
eval_op = make_step(loss, learning_rate(global_step), global_step)
EDITED = 0

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(100):
        x = np.random.rand(BATCH, 32, 32, 3)
        y = np.random.randint(0, 10, BATCH)
        sess.run(train_op, {images: x, labels: y, is_training: True})
'''


def trainer(lines: int = 600) -> str:
    parts, i = [HEAD], 0
    while sum(p.count("\n") for p in parts) + HELPER.count("\n") + TAIL.count("\n") <= lines:
        parts.append(HELPER.format(i=i))
        i += 1
    text = "".join(parts) + TAIL
    return text + "\n" * max(lines - text.count("\n"), 0)


def pct(values, q: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(q * (len(values) - 1)))))
    return values[k]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edits", type=int, default=50)
    ap.add_argument("--debounce", type=float, default=None, help="server debounce in ms (default: the server's)")
    args = ap.parse_args()
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    with tempfile.TemporaryDirectory() as folder:
        folder = os.path.realpath(folder)
        for name, text in (("models.py", MODELS), ("optim.py", OPTIM), ("train.py", trainer())):
            with open(os.path.join(folder, name), "w") as fh:
                fh.write(text)
        with open(os.path.join(folder, "pyproject.toml"), "w") as fh:
            fh.write("[tool.bnlint]\n")
        text = open(os.path.join(folder, "train.py")).read()
        n_lines = text.count("\n")
        uri = uri_of(os.path.join(folder, "train.py"))
        client = LspClient(folder)
        try:
            t0 = time.perf_counter()
            options = {"logTiming": True}
            if args.debounce is not None:
                options["debounce"] = args.debounce
            client.initialize(folder, options)
            started = time.perf_counter() - t0
            sent = time.perf_counter()
            client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1,
                                                                   "text": text}})
            at, params = client.wait("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)
            first = at - sent
            codes = sorted(d["code"] for d in params["diagnostics"])
            lines = text.splitlines(keepends=True)
            row = next(k for k, ln in enumerate(lines) if ln.startswith("EDITED = "))
            times, cpu, work = [], [], []
            for version in range(2, args.edits + 2):
                new_line = f"EDITED = {version}\n"
                change = {"range": {"start": {"line": row, "character": 0}, "end": {"line": row + 1, "character": 0}},
                          "text": new_line}
                sent = time.perf_counter()
                client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                                         "contentChanges": [change]})
                at, params = client.wait("textDocument/publishDiagnostics",
                                         lambda p: p["uri"] == uri and p.get("version") == version)
                times.append(at - sent)
                log = client.wait("window/logMessage", lambda p: f"version {version}:" in p["message"])[1]["message"]
                cpu.append(float(log.rsplit("cpu ", 1)[1].split()[0]) / 1000)
                work.append(float(log.rsplit(": ", 1)[1].split(" ms")[0]) / 1000)
                assert sorted(d["code"] for d in params["diagnostics"]) == codes
                time.sleep(0.02)  # typing pace; the next change is a new lint, not a coalesced one
            time.sleep(1.5)  # the idle collection after the last edit (IdleCollector.idle: 1 s)
            collections = [(int(m["params"]["message"].split("(generation ")[1][0]),
                            float(m["params"]["message"].rsplit("cpu ", 1)[1].split()[0]) / 1000) for m in client.log
                           if m.get("method") == "window/logMessage" and "collected garbage" in m["params"]["message"]]
        finally:
            client.close()
    ms = lambda s: f"{s * 1000:.0f} ms"  # noqa: E731
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"bnlint server latency: train.py {n_lines} lines importing models.py and optim.py; findings {codes}; "
          f"{os.cpu_count()} CPUs, load average (1/5/15 min) before {'/'.join(f'{x:.1f}' for x in load_before)}, "
          f"after {'/'.join(f'{x:.1f}' for x in load)}")
    print("(wall times depend on the machine's load; the server CPU per re-lint much less)")
    print("| measure | time |")
    print("| --- | --- |")
    print(f"| server start + initialize | {ms(started)} |")
    print(f"| first diagnostics after didOpen | {ms(first)} |")
    print(f"| re-lint after an edit, median of {len(times)} | {ms(statistics.median(times))} |")
    print(f"| re-lint after an edit, p95 of {len(times)} | {ms(pct(times, 0.95))} |")
    print(f"| re-lint after an edit, max | {ms(max(times))} |")
    print(f"| server wall time inside a re-lint, median / p95 | {ms(statistics.median(work))} / {ms(pct(work, 0.95))} |")
    print(f"| server CPU per re-lint, median / p95 | {ms(statistics.median(cpu))} / {ms(pct(cpu, 0.95))} |")
    if os.environ.get("BNLINT_BENCH_VERBOSE"):
        print("collections (cpu s):", collections, "re-lint times (s):", [round(t, 3) for t in times])
    for gen, what in ((0, "young, after each answer"), (1, "middle, at each edit (debounce)"), (2, "full, when idle")):
        took = [c for g, c in collections if g == gen]
        print(f"| garbage collections ({what}): count, CPU median / max | {len(took)}, "
              f"{ms(statistics.median(took)) if took else '-'} / {ms(max(took, default=0))} |")
    print(f"| server CPU per re-lint incl. its share of all collections, mean | "
          f"{ms((sum(cpu) + sum(c for _, c in collections)) / len(cpu))} |")
    goal = pct(times, 0.95) <= 0.150
    print(f"goal p95 <= 150 ms: {'met' if goal else 'NOT met'}")
    return 0 if goal else 1


if __name__ == "__main__":
    sys.exit(main())

"""Time each runtime graph check on synthetic graphs of ~25k, 50k and 100k ops.

The graph is a real 2-tower trainer with 8 BN layers (buggy: UPDATE_OPS gathered before the
towers, so BNL101 fires), padded with chains of tiny AddV2 ops written straight into the
MetaGraph proto (building 100k ops through the Python API takes minutes). Half of the padding is a
dependency of the train op, so the dependency walks cross it. Prints one row per check and size,
with microseconds per op: constant per-op cost means linear scaling.

Run: .venv/bin/python benchmarks/runtime_100k.py [--sizes 25000,50000,100000]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
from tensorflow.core.framework import types_pb2  # noqa: E402

from bnlint.runtime.checks import CHECKS, GraphFacts, inspect_graph  # noqa: E402
from bnlint.runtime.graph_index import GraphIndex  # noqa: E402
from bnlint.runtime.moving_stats import MovingStatsProbe  # noqa: E402

v1 = tf.compat.v1
CHAIN = 1000  # ops per padding chain


def base_metagraph(towers: int = 2, layers: int = 8):
    graph = tf.Graph()
    with graph.as_default():
        images = v1.placeholder(tf.float32, [16 * towers, 8, 8, 4], name="images")
        flag = v1.placeholder(tf.bool, [], name="training")
        opt = v1.train.GradientDescentOptimizer(0.1)
        early = v1.get_collection(v1.GraphKeys.UPDATE_OPS)  # noqa: BNL002 (the bug the benchmark finds)
        grads = []
        for i in range(towers):
            with tf.device("/cpu:%d" % i), tf.name_scope("tower_%d" % i), \
                    v1.variable_scope(v1.get_variable_scope(), reuse=v1.AUTO_REUSE):
                h = images[i * 16:(i + 1) * 16]
                for k in range(layers):
                    h = v1.layers.conv2d(h, 4, 3, padding="same", use_bias=False, name="conv%d" % k)
                    h = tf.nn.relu(v1.layers.batch_normalization(h, training=flag, name="bn%d" % k))
                grads.append(opt.compute_gradients(tf.reduce_mean(h)))
        averaged = [(tf.add_n([g for g, _ in gv]) / towers, gv[0][1]) for gv in zip(*grads)]
        with tf.control_dependencies(early):
            train_op = opt.apply_gradients(averaged, name="train")
        v1.add_to_collection("bench_train", train_op)
        return v1.train.export_meta_graph(graph=graph)


def padded(meta, total_ops: int):
    """A copy of ``meta`` padded to ``total_ops`` nodes; half the padding feeds the train op."""
    meta = type(meta).FromString(meta.SerializeToString())
    gd = meta.graph_def
    one = gd.node.add()
    one.name, one.op = "pad/one", "Const"
    one.attr["dtype"].type = types_pb2.DT_FLOAT
    one.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(1.0))
    group = gd.node.add()
    group.name, group.op = "pad/train_deps", "NoOp"
    chains = max(1, (total_ops - len(gd.node)) // CHAIN)
    for c in range(chains):
        prev = one.name
        for k in range(CHAIN):
            node = gd.node.add()
            node.name, node.op = f"pad/c{c}/add_{k}", "AddV2"
            node.input.extend([prev, one.name])
            node.attr["T"].type = types_pb2.DT_FLOAT
            prev = node.name
        if c % 2 == 0:
            group.input.append("^" + prev)
    for node in gd.node:
        if node.name == "train":
            node.input.append("^" + group.name)
    return meta


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def bench(meta, size: int):
    graph = tf.Graph()
    big = padded(meta, size)
    with graph.as_default():
        load, _ = timed(lambda: v1.train.import_meta_graph(big))
    train = graph.get_collection("bench_train")
    n_ops = len(graph.get_operations())
    rows = [("import_meta_graph (not a check)", load)]
    t_index, index = timed(lambda: GraphIndex(graph))
    rows.append(("GraphIndex (adjacency, one pass)", t_index))
    rows.append(("BN layers + writers + applications", timed(lambda: (index.layers, index.apps, index.writer_var))[0]))
    t_facts, facts = timed(lambda: GraphFacts(index, train))
    rows.append(("GraphFacts (dependency sets)", t_facts))
    for check in CHECKS:
        seconds, found = timed(lambda: check(facts))
        rows.append((f"{check.__name__} ({','.join(sorted({d.code for d in found})) or '-'})", seconds))
    rows.append(("MovingStatsProbe (BNL107 setup)", timed(lambda: MovingStatsProbe(graph, train, index=index))[0]))
    total, diags = timed(lambda: inspect_graph(graph, train))
    rows.append((f"inspect_graph total, fresh index ({len(diags)} findings)", total))
    return n_ops, rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="25000,50000,100000")
    args = parser.parse_args()
    meta = base_metagraph()
    print(f"{'check':<52}{'ops':>9}{'seconds':>10}{'us/op':>8}")
    for size in [int(s) for s in args.sizes.split(",")]:
        n_ops, rows = bench(meta, size)
        for name, seconds in rows:
            print(f"{name:<52}{n_ops:>9}{seconds:>10.3f}{seconds / n_ops * 1e6:>8.2f}")
        print()


if __name__ == "__main__":
    main()

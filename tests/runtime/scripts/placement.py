"""Two towers written for /gpu:0 and /gpu:1; prints where one traced training step ran each tower's MatMul."""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import numpy as np  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402

tf.disable_eager_execution()
x = tf.placeholder(tf.float32, [4, 8])
losses = []
for i in range(2):
    with tf.device("/gpu:%d" % i), tf.name_scope("tower_%d" % i):
        w = tf.get_variable("w%d" % i, [8, 8])
        losses.append(tf.reduce_sum(tf.nn.relu(tf.matmul(x, w))))  # relu: the step needs the forward MatMul
train = tf.train.GradientDescentOptimizer(0.1).minimize(tf.add_n(losses))
with tf.Session(config=tf.ConfigProto(allow_soft_placement=True)) as sess:
    sess.run(tf.global_variables_initializer())
    meta = tf.RunMetadata()
    sess.run(train, {x: np.ones((4, 8), np.float32)},
             options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), run_metadata=meta)
    for dev in meta.step_stats.dev_stats:
        for node in dev.node_stats:
            if node.node_name.endswith("/MatMul"):
                print("PLACED", node.node_name, dev.device)

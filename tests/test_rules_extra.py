"""The BN-usage rules (BNL005 upward) on realistic multi-function programs, TF1 and TF2.

Each buggy program must produce its rule exactly at the marked lines (``# <- BNLxxx``); its
corrected twin must produce nothing from that rule. The new rules must also stay silent on the
project's healthy example trainers and on code without BN.
"""

import os
import re
import textwrap

import pytest

from bnlint.run.paths import lint_paths
from bnlint.lint.check import lint_source
from bnlint.run.fixer import apply_edits
from bnlint.lint.registry import all_rules
from bnlint.rulekit.rule import Invalid
from bnlint.core.settings import Settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NEW_CODES = [c for c in all_rules() if int(c[3:]) >= 5 and int(c[3:]) < 100]
_MARK = re.compile(r"#\s*<-\s*(BNL\d+)")


def lint(src, code, path="prog.py"):
    return [d for d in lint_source(src, path, Settings(select=[code])) if d.code == code]


def marked_lines(src, code):
    return sorted(i for i, line in enumerate(src.splitlines(), 1) for m in _MARK.finditer(line) if m.group(1) == code)


def check_pair(code, buggy, fixed):
    buggy, fixed = textwrap.dedent(buggy).lstrip("\n"), textwrap.dedent(fixed).lstrip("\n")
    want = marked_lines(buggy, code)
    assert want, "buggy program has no marker"
    got = sorted(d.location.row for d in lint(buggy, code))
    assert got == want, [d.format_text() for d in lint(buggy, code)]
    assert lint(fixed, code) == [], [d.format_text() for d in lint(fixed, code)]
    return lint(buggy, code)


# --- the examples' fixes -------------------------------------------------------------------------------

FIX_CASES = [
    (code, i, ex)
    for code in NEW_CODES
    for i, ex in enumerate(all_rules()[code].INVALID)
    if isinstance(ex, Invalid) and ex.expected_fix is not None
]


@pytest.mark.parametrize("code,i,ex", FIX_CASES, ids=[f"{c}-fix-{i}" for c, i, _ in FIX_CASES])
def test_example_fix_produces_expected_source(code, i, ex):
    src = textwrap.dedent(ex.code).lstrip("\n")
    diags = lint(src, code, "example.py")
    fixable = [d for d in diags if d.fix]
    assert fixable, f"{code} offers no fix"
    fixed = apply_edits(src, [e for d in fixable for e in d.fix.edits])
    assert fixed == textwrap.dedent(ex.expected_fix).lstrip("\n")
    # the fixed findings are gone; findings without a fix stay
    assert len(lint(fixed, code, "example.py")) == len(diags) - len(fixable)


# --- silence on healthy code -----------------------------------------------------------------------------


def _py_files(*dirs):
    for d in dirs:
        for dirpath, _, files in os.walk(os.path.join(ROOT, d)):
            for f in sorted(files):
                if f.endswith(".py"):
                    yield os.path.join(dirpath, f)


def test_new_rules_silent_on_example_trainers():
    # Every example is linted with every new rule (opt-in ones included); the buggy examples
    # demonstrate BNL001-BNL003 only, so any new finding there is a false positive too.
    result = lint_paths([os.path.join(ROOT, "examples")], Settings(select=NEW_CODES))
    # ... and the buggy TF2 trainers their own TF2 rule, once each
    own = {"tf2_custom_loop_no_training_flag.py": "BNL017", "tf2_finetune_without_training_false.py": "BNL018",
           "tf2_mirrored_small_replica_batch.py": "BNL019", "tf2_bn_created_in_step.py": "BNL021"}
    found = [(os.path.basename(d.filename), d.code) for d in result.diagnostics]
    assert sorted(found) == sorted(own.items()), "\n".join(d.format_text() for d in result.diagnostics)


def test_new_default_rules_silent_on_test_programs():
    # Only where a program says `# expect: CODE` (the programs of the families BNL004+ covers).
    on = [c for c in NEW_CODES if all_rules()[c].default_enabled]
    result = lint_paths([os.path.join(ROOT, "tests", "programs")], Settings(select=on))

    def expected(d):
        with open(d.filename, encoding="utf-8") as fh:
            line = fh.read().splitlines()[d.location.row - 1]
        return re.search(r"#\s*expect:.*\b" + d.code + r"\b", line) is not None

    unexpected = [d for d in result.diagnostics if not expected(d)]
    assert unexpected == [], "\n".join(d.format_text() for d in unexpected)


NO_BN = '''
import tensorflow as tf

def model(x, is_training):
    h = tf.layers.dense(x, 64, activation=tf.nn.relu)
    h = tf.layers.dropout(h, 0.5, training=is_training)
    return tf.layers.dense(h, 10)

is_training = tf.placeholder_with_default(True, [])
x = tf.placeholder(tf.float32, [None, 32])
y = tf.placeholder(tf.int64, [None])
logits = model(x, is_training)
loss = tf.losses.sparse_softmax_cross_entropy(y, logits)
train_op = tf.train.AdamOptimizer().minimize(loss, var_list=tf.trainable_variables())
saver = tf.train.Saver(tf.trainable_variables())

def evaluate(sess, x_val, y_val):
    return sess.run(loss, {x: x_val, y: y_val, is_training: True})

with tf.Session() as sess:
    for step in range(100):
        sess.run(train_op)

keras_model = tf.keras.Sequential([tf.keras.layers.Dense(8), tf.keras.layers.Dense(1)])
opt = tf.keras.optimizers.Adam()

def train_step(xb, yb):
    with tf.GradientTape() as tape:
        pred = keras_model(xb)
        l = tf.reduce_mean(tf.square(pred - yb))
    opt.apply_gradients(zip(tape.gradient(l, keras_model.trainable_variables), keras_model.trainable_variables))

def test_step(xb):
    return keras_model(xb, training=True)
'''


def test_new_rules_silent_without_bn():
    diags = [d for d in lint_source(NO_BN, "no_bn.py", Settings(select=NEW_CODES))]
    assert diags == [], [d.format_text() for d in diags]


# --- TF1 programs ---------------------------------------------------------------------------------------

BNL005_BUGGY = '''
import tensorflow as tf

def conv_bn_relu(x, filters, is_training, name):
    with tf.variable_scope(name):
        x = tf.layers.conv2d(x, filters, 3, padding="same", use_bias=False)
        x = tf.layers.batch_normalization(x)  # <- BNL005
        return tf.nn.relu(x)

def resnet_block(x, filters, training=False):
    y = conv_bn_relu(x, filters, training, "a")
    y = tf.layers.batch_normalization(tf.layers.conv2d(y, filters, 3, padding="same", use_bias=False),
                                      training=training)
    return tf.nn.relu(x + y)

def network(images, is_training):
    x = conv_bn_relu(images, 16, is_training, "stem")
    x = resnet_block(x, 16)  # <- BNL005
    return tf.layers.dense(tf.reduce_mean(x, [1, 2]), 10)

images = tf.placeholder(tf.float32, [None, 32, 32, 3])
labels = tf.placeholder(tf.int64, [None])
is_training = tf.placeholder(tf.bool, [])
logits = network(images, is_training)
loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train_op = tf.train.MomentumOptimizer(0.1, 0.9).minimize(loss)
'''
BNL005_FIXED = BNL005_BUGGY.replace(
    "tf.layers.batch_normalization(x)  # <- BNL005", "tf.layers.batch_normalization(x, training=is_training)"
).replace("resnet_block(x, 16)  # <- BNL005", "resnet_block(x, 16, training=is_training)")


def test_bnl005_wrapper_and_helper_drop_the_flag():
    diags = check_pair("BNL005", BNL005_BUGGY, BNL005_FIXED)
    assert all(d.fix is not None for d in diags)


BNL005_MODULE_BUGGY = '''
import tensorflow.compat.v1 as tf

def mlp(x):
    h = tf.layers.dense(x, 64, use_bias=False)
    h = tf.nn.relu(tf.layers.batch_normalization(h))  # <- BNL005
    return tf.layers.dense(h, 1)

x = tf.placeholder(tf.float32, [None, 8])
y = tf.placeholder(tf.float32, [None, 1])
loss = tf.reduce_mean(tf.square(mlp(x) - y))
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
'''
BNL005_MODULE_FIXED = BNL005_MODULE_BUGGY.replace(
    "def mlp(x):", "def mlp(x, training):").replace(
    "tf.layers.batch_normalization(h))  # <- BNL005", "tf.layers.batch_normalization(h, training=training))").replace(
    "mlp(x)", "mlp(x, True)")


def test_bnl005_module_that_trains_without_flag():
    diags = check_pair("BNL005", BNL005_MODULE_BUGGY, BNL005_MODULE_FIXED)
    assert diags[0].severity == "warning" and diags[0].fix is None


def test_bnl005_inference_script_and_slim_scope_are_fine():
    export = '''
import tensorflow as tf
def build(images):
    net = tf.layers.conv2d(images, 8, 3, use_bias=False)
    return tf.layers.batch_normalization(net)
images = tf.placeholder(tf.float32, [None, 32, 32, 3], name="images")
logits = tf.identity(build(images), name="logits")
saver = tf.train.Saver()
'''
    assert lint(export, "BNL005") == []
    slim_net = '''
import tf_slim as slim
def inception_block(net, is_training):
    with slim.arg_scope([slim.batch_norm, slim.dropout], is_training=is_training):
        net = slim.conv2d(net, 32, [1, 1], normalizer_fn=slim.batch_norm)
        return slim.dropout(slim.batch_norm(net))
'''
    assert lint(slim_net, "BNL005") == []


BNL006_BUGGY = '''
import tensorflow as tf
slim = tf.contrib.slim

def cifar_net(images, is_training):
    with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm,
                        normalizer_params={"is_training": is_training, "decay": 0.9}):
        net = slim.conv2d(images, 32, [3, 3])
        net = slim.conv2d(net, 64, [3, 3], stride=2)
    return slim.fully_connected(slim.flatten(net), 10, activation_fn=None)

def train(images, labels):
    with tf.variable_scope("net"):
        logits = cifar_net(images, is_training=True)
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    return slim.learning.create_train_op(loss, tf.train.AdamOptimizer())

def evaluate(images, labels):
    with tf.variable_scope("net", reuse=True):
        logits = cifar_net(images, is_training=True)  # <- BNL006
    return tf.metrics.accuracy(labels, tf.argmax(logits, 1))

def export_for_serving(images):
    with tf.variable_scope("net", reuse=True):
        return tf.nn.softmax(cifar_net(images, True))  # <- BNL006
'''
BNL006_FIXED = BNL006_BUGGY.replace("is_training=True)  # <- BNL006", "is_training=False)").replace(
    "cifar_net(images, True))  # <- BNL006", "cifar_net(images, False))")


def test_bnl006_eval_and_export_build_training_mode():
    diags = check_pair("BNL006", BNL006_BUGGY, BNL006_FIXED)
    fixed = apply_edits(textwrap.dedent(BNL006_BUGGY).lstrip("\n"), [e for d in diags for e in d.fix.edits])
    assert lint(fixed, "BNL006") == []


BNL006_ESTIMATOR_BUGGY = '''
import tensorflow as tf

def network(features, is_training):
    net = tf.layers.dense(features["x"], 128, use_bias=False)
    net = tf.nn.relu(tf.layers.batch_normalization(net, training=is_training))
    return tf.layers.dense(net, 10)

def model_fn(features, labels, mode, params):
    logits = network(features, True)  # <- BNL006
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions={"class": tf.argmax(logits, 1)})
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train_op = tf.train.AdamOptimizer(params["lr"]).minimize(loss, tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)

estimator = tf.estimator.Estimator(model_fn, params={"lr": 1e-3})
'''
BNL006_ESTIMATOR_FIXED = BNL006_ESTIMATOR_BUGGY.replace(
    "network(features, True)  # <- BNL006", "network(features, mode == tf.estimator.ModeKeys.TRAIN)")


def test_bnl006_model_fn_ignores_mode():
    check_pair("BNL006", BNL006_ESTIMATOR_BUGGY, BNL006_ESTIMATOR_FIXED)


BNL007_BUGGY = '''
import numpy as np
import tensorflow as tf

class Model:
    def __init__(self):
        self.x = tf.placeholder(tf.float32, [None, 784])
        self.y = tf.placeholder(tf.int64, [None])
        self.is_training = tf.placeholder(tf.bool, name="is_training")
        h = tf.layers.dense(self.x, 256, use_bias=False)
        h = tf.nn.relu(tf.layers.batch_normalization(h, training=self.is_training))
        logits = tf.layers.dense(h, 10)
        self.loss = tf.losses.sparse_softmax_cross_entropy(self.y, logits)
        self.accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), self.y), tf.float32))
        with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
            self.train_op = tf.train.AdamOptimizer().minimize(self.loss)

def main(mnist):
    model = Model()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(1000):
            xs, ys = mnist.train.next_batch(64)
            sess.run(model.train_op, feed_dict={model.x: xs, model.y: ys, model.is_training: True})
            if step % 100 == 0:
                val_acc = sess.run(model.accuracy, feed_dict={model.x: mnist.validation.images,
                                                              model.y: mnist.validation.labels,
                                                              model.is_training: True})  # <- BNL007
                print(step, val_acc)
        test_feed = {model.x: mnist.test.images, model.y: mnist.test.labels, model.is_training: True}  # <- BNL007
        print(sess.run(model.accuracy, feed_dict=test_feed))
'''
BNL007_FIXED = BNL007_BUGGY.replace("model.is_training: True})  # <- BNL007", "model.is_training: False})").replace(
    "model.is_training: True}  # <- BNL007", "model.is_training: False}")


def test_bnl007_validation_and_test_runs_feed_true():
    check_pair("BNL007", BNL007_BUGGY, BNL007_FIXED)


BNL007_DEFAULT_BUGGY = '''
import tensorflow as tf

def build():
    x = tf.placeholder(tf.float32, [None, 4])
    y = tf.placeholder(tf.float32, [None, 1])
    train_flag = tf.placeholder_with_default(True, [], name="train_flag")
    h = tf.layers.batch_normalization(tf.layers.dense(x, 16, use_bias=False), training=train_flag)
    loss = tf.reduce_mean(tf.square(tf.layers.dense(h, 1) - y))
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train_op = tf.train.AdamOptimizer().minimize(loss)
    return x, y, train_flag, loss, train_op

x, y, train_flag, loss, train_op = build()
with tf.Session() as sess:
    for xs, ys in train_batches():
        sess.run(train_op, {x: xs, y: ys})
    val_loss = sess.run(loss, {x: x_val, y: y_val})  # <- BNL007
'''
BNL007_DEFAULT_FIXED = BNL007_DEFAULT_BUGGY.replace(
    "{x: x_val, y: y_val})  # <- BNL007", "{x: x_val, y: y_val, train_flag: False})")


def test_bnl007_true_default_never_fed_false():
    check_pair("BNL007", BNL007_DEFAULT_BUGGY, BNL007_DEFAULT_FIXED)


BNL008_BUGGY = '''
import tensorflow.compat.v1 as tf
tf.disable_eager_execution()

def make_model():
    return tf.keras.Sequential([
        tf.keras.layers.Dense(64, use_bias=False),
        tf.keras.layers.BatchNormalization(),
        tf.keras.layers.ReLU(),
        tf.keras.layers.Dense(1),
    ])

x = tf.placeholder(tf.float32, [None, 8])
y = tf.placeholder(tf.float32, [None, 1])
is_training = tf.placeholder(tf.bool, [])
model = make_model()
loss = tf.reduce_mean(tf.square(model(x, training=is_training) - y))
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)  # <- BNL008
with tf.control_dependencies(update_ops):
    train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
'''
BNL008_FIXED = BNL008_BUGGY.replace(
    "tf.get_collection(tf.GraphKeys.UPDATE_OPS)  # <- BNL008", "model.updates")


def test_bnl008_keras_bn_in_v1_graph():
    check_pair("BNL008", BNL008_BUGGY, BNL008_FIXED)


def test_bnl008_not_in_eager_code():
    eager = '''
import tensorflow as tf
model = tf.keras.Sequential([tf.keras.layers.Dense(4), tf.keras.layers.BatchNormalization()])
opt = tf.keras.optimizers.Adam()
def step(x):
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x, training=True))
    update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
    opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
'''
    assert lint(eager, "BNL008") == []


BNL009_BUGGY = '''
import tensorflow as tf

def generator(z, training):
    with tf.variable_scope("generator"):
        h = tf.layers.dense(z, 7 * 7 * 64, use_bias=False)
        h = tf.nn.relu(tf.layers.batch_normalization(h, training=training))
        h = tf.reshape(h, [-1, 7, 7, 64])
        return tf.layers.conv2d_transpose(h, 1, 4, strides=4, activation=tf.tanh)

def discriminator(x, training, reuse=False):
    with tf.variable_scope("discriminator", reuse=reuse):
        h = tf.layers.conv2d(x, 64, 4, strides=2, use_bias=False)
        h = tf.nn.leaky_relu(tf.layers.batch_normalization(h, training=training))
        return tf.layers.dense(tf.layers.flatten(h), 1)

z = tf.placeholder(tf.float32, [None, 100])
real = tf.placeholder(tf.float32, [None, 28, 28, 1])
fake = generator(z, True)
d_real = discriminator(real, True)
d_fake = discriminator(fake, True, reuse=True)
xent = tf.nn.sigmoid_cross_entropy_with_logits
d_loss = tf.reduce_mean(xent(labels=tf.ones_like(d_real), logits=d_real) +
                        xent(labels=tf.zeros_like(d_fake), logits=d_fake))
g_loss = tf.reduce_mean(xent(labels=tf.ones_like(d_fake), logits=d_fake))
t_vars = tf.trainable_variables()
d_vars = [v for v in t_vars if v.name.startswith("discriminator")]
g_vars = [v for v in t_vars if v.name.startswith("generator")]
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):  # <- BNL009
    d_optim = tf.train.AdamOptimizer(2e-4, beta1=0.5).minimize(d_loss, var_list=d_vars)
    g_optim = tf.train.AdamOptimizer(2e-4, beta1=0.5).minimize(g_loss, var_list=g_vars)
'''
BNL009_FIXED = BNL009_BUGGY.replace(
    '''with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):  # <- BNL009
    d_optim = tf.train.AdamOptimizer(2e-4, beta1=0.5).minimize(d_loss, var_list=d_vars)
    g_optim''',
    '''with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS, "discriminator")):
    d_optim = tf.train.AdamOptimizer(2e-4, beta1=0.5).minimize(d_loss, var_list=d_vars)
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS, "generator")):
    g_optim''')


def test_bnl009_gan_shares_update_ops():
    check_pair("BNL009", BNL009_BUGGY, BNL009_FIXED)


BNL010_BUGGY = '''
import tensorflow as tf
slim = tf.contrib.slim

def backbone(images, is_training):
    with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm,
                        normalizer_params={"is_training": is_training}):
        net = slim.conv2d(images, 64, [3, 3], scope="conv1")
        return slim.conv2d(net, 128, [3, 3], scope="conv2")

def head(features, num_classes):
    return tf.layers.dense(tf.reduce_mean(features, [1, 2]), num_classes)

images = tf.placeholder(tf.float32, [None, 64, 64, 3])
labels = tf.placeholder(tf.int64, [None])
features = tf.stop_gradient(backbone(images, is_training=True))  # <- BNL010
logits = head(features, 5)
loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train_op = tf.train.AdamOptimizer(1e-4).minimize(loss)
'''
BNL010_FIXED = BNL010_BUGGY.replace("backbone(images, is_training=True))  # <- BNL010",
                                    "backbone(images, is_training=False))")


def test_bnl010_stop_gradient_backbone_still_trains_bn():
    check_pair("BNL010", BNL010_BUGGY, BNL010_FIXED)


BNL011_BUGGY = '''
import os
import tensorflow as tf

def model(x, training):
    h = tf.layers.conv2d(x, 32, 3, use_bias=False)
    h = tf.nn.relu(tf.layers.batch_normalization(h, training=training))
    return tf.layers.dense(tf.layers.flatten(h), 10)

def train(checkpoint_dir, steps):
    x = tf.placeholder(tf.float32, [None, 28, 28, 1])
    y = tf.placeholder(tf.int64, [None])
    loss = tf.losses.sparse_softmax_cross_entropy(y, model(x, True))
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train_op = tf.train.AdamOptimizer().minimize(loss)
    variables = tf.trainable_variables()
    saver = tf.train.Saver(var_list=variables, max_to_keep=5)  # <- BNL011
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(steps):
            sess.run(train_op)
        saver.save(sess, os.path.join(checkpoint_dir, "model.ckpt"))
'''
BNL011_FIXED = BNL011_BUGGY.replace("variables = tf.trainable_variables()", "variables = tf.global_variables()").replace(
    "  # <- BNL011", "")


def test_bnl011_saver_over_trainable_variables():
    check_pair("BNL011", BNL011_BUGGY, BNL011_FIXED)


BNL012_BUGGY = '''
import tensorflow as tf

def batch_norm(x, n_out, phase_train):
    with tf.variable_scope("bn"):
        beta = tf.Variable(tf.constant(0.0, shape=[n_out]), name="beta")
        gamma = tf.Variable(tf.constant(1.0, shape=[n_out]), name="gamma")
        batch_mean, batch_var = tf.nn.moments(x, [0, 1, 2], name="moments")
        ema = tf.train.ExponentialMovingAverage(decay=0.5)
        ema_apply_op = ema.apply([batch_mean, batch_var])  # <- BNL012
        mean, var = tf.cond(phase_train, lambda: (batch_mean, batch_var),
                            lambda: (ema.average(batch_mean), ema.average(batch_var)))
        return tf.nn.batch_normalization(x, mean, var, beta, gamma, 1e-3)
'''
BNL012_FIXED = BNL012_BUGGY.replace(
    '''        ema_apply_op = ema.apply([batch_mean, batch_var])  # <- BNL012
        mean, var = tf.cond(phase_train, lambda: (batch_mean, batch_var),''',
    '''        def mean_var_with_update():
            ema_apply_op = ema.apply([batch_mean, batch_var])
            with tf.control_dependencies([ema_apply_op]):
                return tf.identity(batch_mean), tf.identity(batch_var)
        mean, var = tf.cond(phase_train, mean_var_with_update,''')


def test_bnl012_hand_rolled_bn_update_never_runs():
    check_pair("BNL012", BNL012_BUGGY, BNL012_FIXED)


BNL013_BUGGY = '''
import tensorflow as tf

DATA_FORMAT = "channels_first"

def conv_bn(x, filters, training, strides=1):
    x = tf.layers.conv2d(x, filters, 3, strides=strides, padding="same", use_bias=False,
                         data_format="channels_first")
    x = tf.layers.batch_normalization(x, training=training, fused=True)  # <- BNL013
    return tf.nn.relu(x)

def stem(images, training):
    x = tf.transpose(images, [0, 3, 1, 2])
    x = conv_bn(x, 32, training)
    return conv_bn(x, 64, training, strides=2)
'''
BNL013_FIXED = BNL013_BUGGY.replace("training=training, fused=True)  # <- BNL013",
                                    "axis=1, training=training, fused=True)")


def test_bnl013_channels_first_conv_then_default_axis():
    check_pair("BNL013", BNL013_BUGGY, BNL013_FIXED)


def test_bnl013_keras_image_data_format_default():
    src = '''
import tensorflow as tf
from tensorflow.keras import layers
tf.keras.backend.set_image_data_format("channels_first")
def build():
    inputs = tf.keras.Input((3, 32, 32))
    x = layers.Conv2D(16, 3, use_bias=False)(inputs)
    x = layers.BatchNormalization()(x)  # <- BNL013
    return tf.keras.Model(inputs, layers.ReLU()(x))
'''
    check_pair("BNL013", src, src.replace("layers.BatchNormalization()(x)  # <- BNL013", "layers.BatchNormalization(axis=1)(x)"))


BNL014_BUGGY = '''
import argparse
import tensorflow as tf
import tf_slim as slim

def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=2000)
    return parser.parse_args()

def net(images, is_training):
    with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm,  # <- BNL014
                        normalizer_params={"is_training": is_training}):
        x = slim.conv2d(images, 32, [3, 3])
        return slim.fully_connected(slim.flatten(x), 10, activation_fn=None)

def main():
    args = parse_args()
    images = tf.placeholder(tf.float32, [None, 28, 28, 1])
    labels = tf.placeholder(tf.int64, [None])
    loss = tf.losses.sparse_softmax_cross_entropy(labels, net(images, True))
    train_op = slim.learning.create_train_op(loss, tf.train.AdamOptimizer())
    with tf.Session() as sess:
        for step in range(args.steps):
            sess.run(train_op)
'''
BNL014_FIXED = BNL014_BUGGY.replace('{"is_training": is_training}):',
                                    '{"is_training": is_training, "decay": 0.99}):')


def test_bnl014_slim_default_decay_with_short_run():
    diags = check_pair("BNL014", BNL014_BUGGY, BNL014_FIXED)
    assert "2000" in diags[0].message and "the default" in diags[0].message


def test_bnl014_step_count_from_settings():
    src = "import tensorflow as tf\nh = tf.layers.batch_normalization(tf.zeros([2, 4]), training=True, momentum=0.9999)\n"
    assert lint(src, "BNL014") == []
    diags = [d for d in lint_source(src, "m.py", Settings(select=["BNL014"], momentum_steps=10000)) if d.code == "BNL014"]
    assert [d.location.row for d in diags] == [2]


BNL015_BUGGY = '''
import tensorflow as tf

def conv_block(x, filters, training):
    x = tf.layers.conv2d(x, filters, 3, padding="same")  # <- BNL015
    x = tf.layers.batch_normalization(x, training=training)
    return tf.nn.relu(x)

def dense_block(x, units, training):
    x = tf.layers.dense(x, units, activation=tf.nn.relu)
    return tf.layers.batch_normalization(x, training=training)
'''
BNL015_FIXED = BNL015_BUGGY.replace('padding="same")  # <- BNL015', 'padding="same", use_bias=False)')


def test_bnl015_bias_before_bn_only_without_activation():
    check_pair("BNL015", BNL015_BUGGY, BNL015_FIXED)


BNL016_BUGGY = '''
import tensorflow as tf
from tensorflow.keras import layers

def classifier_head(x):
    x = layers.Dense(256, use_bias=False)(x)
    x = layers.Dropout(0.5)(x)
    x = layers.BatchNormalization()(x)  # <- BNL016
    return layers.Dense(10)(layers.ReLU()(x))

model = tf.keras.Sequential([
    layers.Flatten(),
    layers.Dropout(0.2),
    layers.BatchNormalization(),  # <- BNL016
    layers.Dense(10),
])
'''
BNL016_FIXED = '''
import tensorflow as tf
from tensorflow.keras import layers

def classifier_head(x):
    x = layers.Dense(256, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Dropout(0.5)(layers.ReLU()(x))
    return layers.Dense(10)(x)

model = tf.keras.Sequential([
    layers.Flatten(),
    layers.BatchNormalization(),
    layers.Dropout(0.2),
    layers.Dense(10),
])
'''


def test_bnl016_dropout_before_bn():
    check_pair("BNL016", BNL016_BUGGY, BNL016_FIXED)


# --- TF2 programs ---------------------------------------------------------------------------------------

BNL017_BUGGY = '''
import tensorflow as tf

class ConvNet(tf.keras.Model):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv = tf.keras.layers.Conv2D(32, 3, use_bias=False)
        self.bn = tf.keras.layers.BatchNormalization()
        self.pool = tf.keras.layers.GlobalAveragePooling2D()
        self.fc = tf.keras.layers.Dense(num_classes)

    def call(self, x, training=False):
        return self.fc(self.pool(tf.nn.relu(self.bn(self.conv(x), training=training))))

model = ConvNet()
optimizer = tf.keras.optimizers.Adam(1e-3)
loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

@tf.function
def train_step(images, labels):
    with tf.GradientTape() as tape:
        logits = model(images)  # <- BNL017
        loss = loss_fn(labels, logits)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss

@tf.function
def test_step(images, labels):
    logits = model(images, training=True)  # <- BNL017
    return loss_fn(labels, logits)

def fit(train_ds, test_ds, epochs):
    for epoch in range(epochs):
        for images, labels in train_ds:
            train_step(images, labels)
        for images, labels in test_ds:
            test_step(images, labels)
'''
BNL017_FIXED = BNL017_BUGGY.replace("model(images)  # <- BNL017", "model(images, training=True)").replace(
    "model(images, training=True)  # <- BNL017", "model(images, training=False)")


def test_bnl017_custom_loop_training_argument():
    diags = check_pair("BNL017", BNL017_BUGGY, BNL017_FIXED)
    fixed = apply_edits(textwrap.dedent(BNL017_BUGGY).lstrip("\n"), [e for d in diags for e in d.fix.edits])
    assert lint(fixed, "BNL017") == []


def test_bnl017_custom_train_step_override():
    src = '''
import tensorflow as tf

class Classifier(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.body = tf.keras.Sequential([tf.keras.layers.Dense(64, use_bias=False),
                                         tf.keras.layers.BatchNormalization(),
                                         tf.keras.layers.ReLU(), tf.keras.layers.Dense(10)])

    def call(self, x, training=None):
        return self.body(x, training=training)

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x)  # <- BNL017
            loss = self.compiled_loss(y, y_pred)
        self.optimizer.apply_gradients(zip(tape.gradient(loss, self.trainable_variables), self.trainable_variables))
        return {"loss": loss}
'''
    check_pair("BNL017", src, src.replace("self(x)  # <- BNL017", "self(x, training=True)"))


BNL018_BUGGY = '''
import tensorflow as tf

IMG_SHAPE = (160, 160, 3)

def build(base):
    inputs = tf.keras.Input(shape=IMG_SHAPE)
    x = tf.keras.applications.mobilenet_v2.preprocess_input(inputs)
    x = base(x)  # <- BNL018
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    outputs = tf.keras.layers.Dense(1)(tf.keras.layers.Dropout(0.2)(x))
    return tf.keras.Model(inputs, outputs)

def main(train_ds, val_ds):
    base_model = tf.keras.applications.MobileNetV2(input_shape=IMG_SHAPE, include_top=False, weights="imagenet")
    base_model.trainable = False
    model = build(base_model)
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-4), loss="binary_crossentropy")
    model.fit(train_ds, epochs=10, validation_data=val_ds)
    base_model.trainable = True
    for layer in base_model.layers[:100]:
        layer.trainable = False
    model.fit(train_ds, epochs=20, initial_epoch=10, validation_data=val_ds)  # <- BNL018
'''
BNL018_FIXED = BNL018_BUGGY.replace("x = base(x)  # <- BNL018", "x = base(x, training=False)").replace(
    "    model.fit(train_ds, epochs=20, initial_epoch=10, validation_data=val_ds)  # <- BNL018",
    "    model.compile(optimizer=tf.keras.optimizers.RMSprop(1e-5), loss='binary_crossentropy')\n"
    "    model.fit(train_ds, epochs=20, initial_epoch=10, validation_data=val_ds)")


def test_bnl018_fine_tuning_tutorial_mistakes():
    check_pair("BNL018", BNL018_BUGGY, BNL018_FIXED)


BNL019_BUGGY = '''
import tensorflow as tf

BATCH_SIZE_PER_REPLICA = 8

def make_model():
    return tf.keras.Sequential([
        tf.keras.layers.Conv2D(32, 3, use_bias=False, input_shape=(28, 28, 1)),
        tf.keras.layers.BatchNormalization(),
        tf.keras.layers.ReLU(),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(10),
    ])

strategy = tf.distribute.MirroredStrategy()
GLOBAL_BATCH_SIZE = BATCH_SIZE_PER_REPLICA * strategy.num_replicas_in_sync
with strategy.scope():
    model = make_model()  # <- BNL019
    model.compile(optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
'''
BNL019_FIXED = BNL019_BUGGY.replace("tf.keras.layers.BatchNormalization(),",
                                    "tf.keras.layers.BatchNormalization(synchronized=True),")


def test_bnl019_mirrored_strategy_small_replica_batch():
    check_pair("BNL019", BNL019_BUGGY, BNL019_FIXED)
    bigger = BNL019_BUGGY.replace("BATCH_SIZE_PER_REPLICA = 8", "BATCH_SIZE_PER_REPLICA = 64").replace("  # <- BNL019", "")
    assert lint(bigger, "BNL019") == []


BNL020_BUGGY = '''
import tensorflow as tf
from tensorflow.keras import backend as K

def build():
    base = tf.keras.applications.ResNet50(weights=None, classes=10)
    base.compile("sgd", "sparse_categorical_crossentropy")
    return base

K.set_learning_phase(True)  # <- BNL020
model = build()
'''
BNL020_FIXED = BNL020_BUGGY.replace("K.set_learning_phase(True)  # <- BNL020\n", "")


def test_bnl020_learning_phase_forced():
    check_pair("BNL020", BNL020_BUGGY, BNL020_FIXED)


BNL021_BUGGY = '''
import tensorflow as tf

dense1 = tf.keras.layers.Dense(64, use_bias=False)
dense2 = tf.keras.layers.Dense(1)
opt = tf.keras.optimizers.SGD(0.01)

def forward(x, training):
    h = dense1(x)
    h = tf.keras.layers.BatchNormalization()(h, training=training)  # <- BNL021
    return dense2(tf.nn.relu(h))

def train(dataset):
    for x, y in dataset:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(forward(x, True) - y))
        variables = dense1.trainable_variables + dense2.trainable_variables
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
'''
BNL021_FIXED = BNL021_BUGGY.replace(
    "dense2 = tf.keras.layers.Dense(1)", "dense2 = tf.keras.layers.Dense(1)\nbn = tf.keras.layers.BatchNormalization()").replace(
    "tf.keras.layers.BatchNormalization()(h, training=training)  # <- BNL021", "bn(h, training=training)").replace(
    "dense1.trainable_variables + dense2", "dense1.trainable_variables + bn.trainable_variables + dense2")


def test_bnl021_keras_bn_built_in_step():
    check_pair("BNL021", BNL021_BUGGY, BNL021_FIXED)


def test_every_new_rule_has_a_program_test():
    tested = set(re.findall(r"def test_(bnl\d+)_", open(__file__, encoding="utf-8").read()))
    assert {c.lower() for c in NEW_CODES} <= tested


def test_bnl017_model_held_by_a_trainer_class():
    src = '''
import tensorflow as tf

class Trainer:
    def __init__(self):
        self.net = tf.keras.applications.MobileNetV2(weights=None, classes=5)
        self.opt = tf.keras.optimizers.Adam()

    def step(self, x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(y, self.net(x)))  # <- BNL017
        grads = tape.gradient(loss, self.net.trainable_variables)
        self.opt.apply_gradients(zip(grads, self.net.trainable_variables))
'''
    check_pair("BNL017", src, src.replace("self.net(x))", "self.net(x, training=True))"))

"""The BNL001/BNL002/BNL003 rewrites on code shapes beyond the rules' INVALID examples: the module's
own TF alias, where a statement may move, when a fix is unsafe, and when no fix is offered."""

import textwrap

import pytest

from bnlint.lint.check import lint_source
from bnlint.run.fixer import fix_text
from bnlint.core.settings import Settings
from bnlint.source.reading import SourceFile


def lint(src, code):
    return [d for d in lint_source(src, "m.py", Settings(select=[code]))]


def fix(src, code, unsafe=True):
    src = textwrap.dedent(src).lstrip("\n")
    sf = SourceFile(path="m.py", raw=src.encode(), text=src, encoding="utf-8", bom=False)
    return fix_text(sf, lint(src, code), lambda t: lint(t, code), unsafe=unsafe).text


def the_fix(src, code):
    (d,) = lint(textwrap.dedent(src).lstrip("\n"), code)
    return d.fix


STEP_HEADER = "with {p}.control_dependencies({p}.get_collection({p}.GraphKeys.UPDATE_OPS)):"


@pytest.mark.parametrize("imports,p", [
    ("import tensorflow.compat.v1 as tf", "tf"),
    ("import tensorflow as tf\ntf.compat.v1.disable_eager_execution()", "tf.compat.v1"),
    ("import tensorflow as tf\ntf1 = tf.compat.v1", "tf1"),
    ("from tensorflow.compat import v1 as tfv1", "tfv1"),
    ("import tensorflow.compat.v1 as tf1", "tf1"),
])
def test_bnl003_uses_the_modules_alias(imports, p):
    layers = {"tf.compat.v1": "tf.compat.v1.layers"}.get(p, f"{p}.layers")
    train = {"tf.compat.v1": "tf.compat.v1.train"}.get(p, f"{p}.train")
    src = f"{imports}\ny = {layers}.batch_normalization(x, training=True)\nop = {train}.AdamOptimizer().minimize(y)\n"
    out = fix(src, "BNL003")
    assert STEP_HEADER.format(p=p) + f"\n    op = {train}.AdamOptimizer().minimize(y)\n" in out


def test_bnl003_unsafe_when_bn_is_trained_after_the_step():
    f = the_fix("""
        import tensorflow as tf
        y = tf.layers.batch_normalization(x, training=True)
        op = tf.train.AdamOptimizer().minimize(y)
        z = tf.layers.batch_normalization(x, training=True)
    """, "BNL003")
    assert f.applicability == "unsafe"


@pytest.mark.parametrize("step", [
    "a = 1; op = tf.train.AdamOptimizer().minimize(y)",  # two statements on the line
    "if y is not None: op = tf.train.AdamOptimizer().minimize(y)",  # one-line block
    'op = tf.train.AdamOptimizer().minimize(y, name="""step\nname""")',  # re-indenting changes a string
])
def test_bnl003_no_fix_where_wrapping_would_change_meaning(step):
    src = "import tensorflow as tf\ny = tf.layers.batch_normalization(x, training=True)\n" + step + "\n"
    (d,) = lint(src, "BNL003")
    assert d.fix is None


def test_bnl002_moves_before_a_conditional_consumer():
    out = fix("""
        import tensorflow as tf
        update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        y = tf.layers.batch_normalization(x, training=True)
        if use_updates:
            with tf.control_dependencies(update_ops):
                op = tf.train.AdamOptimizer().minimize(y)
    """, "BNL002")
    assert out == textwrap.dedent("""\
        import tensorflow as tf
        y = tf.layers.batch_normalization(x, training=True)
        update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        if use_updates:
            with tf.control_dependencies(update_ops):
                op = tf.train.AdamOptimizer().minimize(y)
    """)


def test_bnl002_moves_comments_along_and_leaves_one_blank_line():
    out = fix("""
        import tensorflow as tf

        # every tower's BN updates
        # (read once)
        update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)

        y = tf.layers.batch_normalization(x, training=True)
        with tf.control_dependencies(update_ops):
            op = tf.train.AdamOptimizer().minimize(y)
    """, "BNL002")
    assert out == textwrap.dedent("""\
        import tensorflow as tf

        y = tf.layers.batch_normalization(x, training=True)
        # every tower's BN updates
        # (read once)
        update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        with tf.control_dependencies(update_ops):
            op = tf.train.AdamOptimizer().minimize(y)
    """)


@pytest.mark.parametrize("src", [
    # read under a condition, used outside it: moving would change when it runs
    """
    import tensorflow as tf
    if flag:
        update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    y = tf.layers.batch_normalization(x, training=True)
    with tf.control_dependencies(update_ops):
        op = tf.train.AdamOptimizer().minimize(y)
    """,
    # the scope argument is rebound before the consumer
    """
    import tensorflow as tf
    scope = "a"
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS, scope)
    y = tf.layers.batch_normalization(x, training=True)
    scope = "b"
    with tf.control_dependencies(update_ops):
        op = tf.train.AdamOptimizer().minimize(y)
    """,
    # the step that depends on it is built in another function
    """
    import tensorflow as tf
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    y = tf.layers.batch_normalization(x, training=True)
    def step(loss):
        with tf.control_dependencies(update_ops):
            return tf.train.AdamOptimizer().minimize(loss)
    """,
])
def test_bnl002_no_fix_when_moving_is_not_clearly_equivalent(src):
    (d,) = lint(textwrap.dedent(src).lstrip("\n"), "BNL002")
    assert d.fix is None


def test_bnl002_and_bnl003_together_reach_a_fixpoint():
    src = textwrap.dedent("""
        import tensorflow as tf
        update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        y = tf.layers.batch_normalization(x, training=True)
        with tf.control_dependencies(update_ops):
            op = tf.train.AdamOptimizer().minimize(y)
        z = tf.layers.batch_normalization(y, training=True)
        op2 = tf.train.GradientDescentOptimizer(0.1).minimize(z)
    """).lstrip("\n")
    sf = SourceFile(path="m.py", raw=src.encode(), text=src, encoding="utf-8", bom=False)
    relint = lambda t: lint_source(t, "m.py", Settings(select=["BNL002", "BNL003"]))  # noqa: E731
    result = fix_text(sf, relint(src), relint, unsafe=False)
    assert sorted(d.code for d in result.applied) == ["BNL002", "BNL003"]
    assert relint(result.text) == []
    assert fix_text(SourceFile("m.py", b"", result.text, "utf-8", False), [], relint, unsafe=False).text == result.text


TOWERS = """
import tensorflow.compat.v1 as tf
def tower(x):
    return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=True)
losses = []
for i in range(2):
    # one tower per device
    with tf.device("/gpu:%d" % i):
        losses.append(tower(x))
"""


def test_bnl001_tower_loop_body_is_wrapped_with_its_comments():
    assert fix(TOWERS, "BNL001") == textwrap.dedent("""\
        import tensorflow.compat.v1 as tf
        def tower(x):
            return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=True)
        losses = []
        for i in range(2):
            with tf.variable_scope(tf.get_variable_scope(), reuse=tf.AUTO_REUSE):
                # one tower per device
                with tf.device("/gpu:%d" % i):
                    losses.append(tower(x))
    """)
    assert the_fix(TOWERS, "BNL001").applicability == "safe"


def test_bnl001_tower_fix_is_unsafe_when_layers_follow_the_loop():
    # Leaving the scope resets the layer counters: a later unnamed dense would be named "dense" again.
    assert the_fix(TOWERS + "head = tf.layers.dense(tf.add_n(losses), 2)\n", "BNL001").applicability == "unsafe"


def test_bnl001_second_call_only_when_the_first_already_restores_counters():
    out = fix("""
        import tensorflow.compat.v1 as tf
        def model(x, training):
            return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=training)
        for i in range(2):
            with tf.device("/gpu:%d" % i), tf.variable_scope(tf.get_variable_scope(), reuse=tf.AUTO_REUSE):
                loss = model(x, True)
        eval_out = model(x, False)
    """, "BNL001")
    assert out.splitlines()[-2:] == [
        "with tf.variable_scope(tf.get_variable_scope(), reuse=tf.AUTO_REUSE):",
        "    eval_out = model(x, False)",
    ]


def test_bnl001_no_fix_for_both_calls_on_one_line():
    (d,) = lint(textwrap.dedent("""
        import tensorflow as tf
        def model(x, training):
            return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=training)
        logits, val_logits = model(x, True), model(v, False)
    """).lstrip("\n"), "BNL001")
    assert d.fix is None


def test_bnl002_rereads_when_a_function_reads_the_list_as_a_global():
    # The report's setup_grad: a helper called in the tower loop reads the early list as a global,
    # so the read cannot move; the step after the towers gets a fresh read, the helper keeps its own.
    src = """
        import tensorflow as tf

        def setup_grad(optim, loss):
            with tf.control_dependencies(update_ops):
                return optim.compute_gradients(loss)

        optim = tf.train.AdamOptimizer()
        update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        grads = []
        for i in range(2):
            with tf.device("/gpu:%d" % i):
                y = tf.layers.batch_normalization(x[i], training=True, name="bn", reuse=i > 0)
                grads.append(setup_grad(optim, tf.reduce_sum(y)))
        with tf.control_dependencies(update_ops):
            train_op = optim.apply_gradients(grads[0])
    """
    (d,) = lint(textwrap.dedent(src).lstrip("\n"), "BNL002")
    assert d.fix is not None and d.fix.applicability == "safe" and "again" in d.fix.message
    fixed = fix(src, "BNL002", unsafe=False)
    assert fixed == textwrap.dedent(src).lstrip("\n").replace(
        "with tf.control_dependencies(update_ops):\n    train_op",
        "update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n"
        "with tf.control_dependencies(update_ops):\n    train_op")
    assert lint(fixed, "BNL002") == []


def test_bnl002_never_moves_a_read_that_other_functions_may_see():
    # `global update_ops` in the builder, read by a helper: moving it would unbind the helper's name.
    src = """
        import tensorflow as tf

        def setup_grad(optim, loss):
            with tf.control_dependencies(update_ops):
                return optim.compute_gradients(loss)

        def build(x, optim):
            global update_ops
            update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
            y = tf.layers.batch_normalization(x, training=True)
            grads = setup_grad(optim, tf.reduce_sum(y))
            with tf.control_dependencies(update_ops):
                return optim.apply_gradients(grads)
    """
    fixed = fix(src, "BNL002", unsafe=False)
    assert fixed.count("update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)") == 2
    assert fixed.index("global update_ops\n    update_ops = tf.get_collection") > 0
    assert lint(fixed, "BNL002") == []

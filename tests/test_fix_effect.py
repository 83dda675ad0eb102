"""Fixes that change nothing are not offered; fixes that change a layer's variables are never safe."""

import os
import textwrap

from bnlint.analysis import ModuleInfo
from bnlint.diagnostics import Edit, Fix, Location
from bnlint.engine import lint_paths
from bnlint.fix_effect import changes_variables, same_program
from bnlint.rule import checked_fix
from bnlint.settings import Settings

import libcst as cst

HERE = os.path.dirname(os.path.abspath(__file__))


def d(s):
    return textwrap.dedent(s).lstrip("\n")


SCOPED = d("""
    import tf_slim as slim
    def net(x, is_training):
        with slim.arg_scope([slim.batch_norm, block], is_training=is_training):
            x = slim.batch_norm(x)
            return block(x)
""")


def test_keyword_an_arg_scope_sets_is_a_restatement():
    for old, new in [("slim.batch_norm(x)", "slim.batch_norm(x, is_training=is_training)"),
                     ("block(x)", "block(x, is_training=is_training)")]:
        assert same_program(SCOPED, SCOPED.replace(old, new))


def test_a_different_value_or_callee_is_a_change():
    assert not same_program(SCOPED, SCOPED.replace("slim.batch_norm(x)", "slim.batch_norm(x, is_training=False)"))
    assert not same_program(SCOPED, SCOPED.replace("block(x)", "block(x, scope='b')"))
    other = SCOPED.replace("return block(x)", "return other(x)")
    assert not same_program(other, other.replace("other(x)", "other(x, is_training=is_training)"))


def test_scope_does_not_reach_a_function_defined_inside_it_or_a_rebound_name():
    nested = d("""
        import tf_slim as slim
        with slim.arg_scope([slim.batch_norm], is_training=t):
            def later(x):
                return slim.batch_norm(x)
    """)
    assert not same_program(nested, nested.replace("batch_norm(x)", "batch_norm(x, is_training=t)"))
    rebound = d("""
        import tf_slim as slim
        with slim.arg_scope([slim.batch_norm], is_training=t):
            t = not t
            y = slim.batch_norm(x)
    """)
    assert not same_program(rebound, rebound.replace("batch_norm(x)", "batch_norm(x, is_training=t)"))


def test_default_training_flag_is_a_restatement():
    src = "import tensorflow as tf\ny = tf.layers.batch_normalization(x)\n"
    assert same_program(src, src.replace("(x)", "(x, training=False)"))
    assert not same_program(src, src.replace("(x)", "(x, training=True)"))
    assert same_program(src, src.replace("(x)", "( x )  # comment"))


def test_variable_keywords_of_layers_are_a_variable_change():
    src = "import tensorflow as tf\ny = tf.layers.conv2d(x, 8, 3)\n"
    assert changes_variables(src, src.replace("3)", "3, use_bias=False)"))
    assert changes_variables(src, src.replace("3)", "3, name='c1')"))
    assert not changes_variables(src, src.replace("3)", "3, padding='same')"))


def test_report_downgrades_or_drops_fixes():
    src = "import tensorflow as tf\ny = tf.layers.conv2d(x, 8, 3)\nz = tf.layers.batch_normalization(y)\n"
    info = ModuleInfo(cst.parse_module(src), "m.py", "m")
    bias = Fix("drop bias", (Edit(", use_bias=False", Location(2, 29), Location(2, 29)),), "safe")
    assert checked_fix(info, bias).applicability == "unsafe"
    noop = Fix("flag", (Edit(", training=False", Location(3, 36), Location(3, 36)),), "safe")
    assert checked_fix(info, noop) is None


def test_no_fix_is_offered_that_restates_the_arg_scope():
    path = os.path.join(HERE, "fix_programs", "enet_arg_scope.py")
    result = lint_paths([path], Settings(select=["ALL"]))
    restating = [x for x in result.diagnostics if x.fix is not None and "is_training" in x.fix.message]
    assert restating == [], [x.format_text() for x in restating]


def test_keyword_equal_to_the_project_functions_default_is_a_restatement():
    src = d("""
        def block(x, is_training=True, scope=None):
            return x
        y = block(1)
    """)
    assert same_program(src, src.replace("block(1)", "block(1, is_training=True)"))
    assert not same_program(src, src.replace("block(1)", "block(1, is_training=False)"))
    twice = src + "def block(x, is_training=False):\n    return x\n"
    assert not same_program(twice, twice.replace("block(1)", "block(1, is_training=True)"))

"""Fixes that change nothing are not offered; fixes that change a layer's variables are never safe."""

import os
import textwrap

from bnlint.analysis.module_info import ModuleInfo
from bnlint.core.diagnostics import Edit, Fix, Location
from bnlint.run.paths import lint_paths
from bnlint.fix.effect import changes_variables, same_program
from bnlint.rulekit.rule import checked_fix
from bnlint.core.settings import Settings

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


def _mutations(src):
    """Fix-like edits of ``src``: keywords added to calls (flags, variable keywords, restatements
    of defaults), a statement wrapped in a ``with`` block, a line inserted or deleted, a default
    of a top-level function changed."""
    import ast

    tree = ast.parse(src)
    lines = src.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    at = lambda row, col: offsets[row - 1] + len(lines[row - 1].encode("utf-8")[:col].decode("utf-8"))  # noqa: E731
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and (n.args or n.keywords)]
    for k, call in enumerate(calls[:25]):
        end = at(call.end_lineno, call.end_col_offset) - 1  # the closing parenthesis
        kw = ("training=False", "use_bias=False", "is_training=True", "name='n'", "scale=True")[k % 5]
        yield src[:end] + ", " + kw + src[end:]
    for stmt in tree.body[:: max(1, len(tree.body) // 6)]:
        start, stop = at(stmt.lineno, 0), offsets[stmt.end_lineno]
        body = "".join("    " + ln if ln.strip() else ln for ln in src[start:stop].splitlines(keepends=True))
        yield src[:start] + "with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):\n" + \
            body + src[stop:]
        yield src[:start] + "import os\n" + src[start:]
        yield src[:start] + src[stop:]
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.args.defaults:
            default = node.args.defaults[-1]
            start, end = at(default.lineno, default.col_offset), at(default.end_lineno, default.end_col_offset)
            yield src[:start] + "None" + src[end:]
            yield src[:start] + "True" + src[end:]


def test_fix_effect_on_the_touched_statements_answers_as_the_whole_module():
    """``FixEffect`` (what ``checked_fix`` asks, on the top-level statements a fix touches) gives
    the answers of ``same_program``/``changes_variables`` on whole modules, on our programs."""
    from bnlint.fix.effect import FixEffect

    folders = [os.path.join(HERE, "programs"), os.path.join(HERE, "fix_programs"),
               os.path.join(os.path.dirname(HERE), "examples")]
    asked = local = 0
    for folder in folders:
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".py"):
                continue
            src = open(os.path.join(folder, name), encoding="utf-8").read()
            try:
                info = ModuleInfo(cst.parse_module(src), name, name[:-3])
            except cst.ParserSyntaxError:
                continue  # the programs about unparseable files
            effect = FixEffect(src, info.aliases, info.local_imports)
            for after in _mutations(src):
                want = (same_program(src, after, info.aliases, info.local_imports),
                        changes_variables(src, after, info.aliases, info.local_imports))
                assert (effect.same_program(after), effect.changes_variables(after)) == want, (name, after)
                asked += 1
                local += effect._last[1] is not None
    assert asked > 500 and local > asked * 0.8  # and most were answered on the touched statements

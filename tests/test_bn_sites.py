"""The BN-site model (bnlint.analysis.bn_sites) and the one-finding-per-root-cause folding."""

import json
import os
import textwrap

import jsonschema
import pytest

from bnlint.analysis.module_info import ModuleInfo
from bnlint.analysis.bn_sites import flag_omitted, site_of
from bnlint.run.paths import lint_paths
from bnlint.lint.check import lint_source
from bnlint.report.output import render_json, render_sarif, render_text
from bnlint.analysis.project import Project
from bnlint.core.settings import Settings

import libcst as cst

HERE = os.path.dirname(__file__)


def _sites(src):
    info = ModuleInfo(cst.parse_module(textwrap.dedent(src)), "m.py", "m")
    Project([info])
    out = {}
    for ev in info.all_events():
        site = site_of(ev)
        if site is not None:
            out[info.position(ev.node).start.line] = (site.flag, site.flag_source, site.inplace, flag_omitted(ev))
    return out


def test_flag_and_update_mode_come_from_every_source():
    sites = _sites('''
        import tf_slim as slim
        import functools
        import tensorflow.compat.v1 as tf
        BN = {"decay": 0.9, "updates_collections": None}
        def net(x, is_training):
            a = slim.batch_norm(x, is_training=is_training, **BN)
            frozen = dict(BN, is_training=False)
            b = slim.batch_norm(x, **frozen)
            with slim.arg_scope([slim.batch_norm], is_training=is_training):
                c = slim.batch_norm(x)
            bn = functools.partial(tf.layers.batch_normalization, training=is_training)
            d = bn(x)
            e = slim.conv2d(x, 8, 3, normalizer_fn=slim.batch_norm, normalizer_params={**BN, "is_training": False})
            f = tf.layers.batch_normalization(x)
            g = slim.batch_norm(x, **unknown)
            return a, b, c, d, e, f, g
    ''')
    assert sites == {
        7: (("param", "is_training"), "explicit", True, False),
        9: (("const", False), "dict", True, False),
        11: (("param", "is_training"), "argscope", False, False),
        13: (("param", "is_training"), "partial", False, False),
        14: (("const", False), "dict", True, False),
        15: (("const", False), "default", False, True),
        16: (("dyn",), "unknown", False, False),
    }


def test_arg_scope_on_own_functions_passes_the_flag():
    src = textwrap.dedent('''
        import tf_slim as slim
        @slim.add_arg_scope
        def block(x, is_training=True):
            return slim.batch_norm(x, is_training=is_training)
        def net(x, is_training):
            with slim.arg_scope([block], is_training=is_training):
                return block(block(x))
        def net_dropped(x, is_training):
            return block(x)
    ''')
    found = [(d.code, d.location.row) for d in lint_source(src, "m.py")]
    assert found == [("BNL005", 10)]


def test_bnl009_is_opt_in():
    src = textwrap.dedent('''
        import tensorflow.compat.v1 as tf
        g = tf.layers.batch_normalization(tf.zeros([4, 2]), training=True)
        d = tf.layers.batch_normalization(tf.zeros([4, 2]), training=True)
        with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
            d_step = tf.train.AdamOptimizer().minimize(tf.reduce_sum(d), var_list=tf.trainable_variables("d"))
            g_step = tf.train.AdamOptimizer().minimize(tf.reduce_sum(g), var_list=tf.trainable_variables("g"))
    ''')
    assert [d.code for d in lint_source(src, "gan.py")] == []
    opted = lint_source(src, "gan.py", Settings(extend_select=["BNL009"]))
    assert [(d.code, d.severity) for d in opted] == [("BNL009", "info")]


@pytest.fixture
def folded():
    result = lint_paths([os.path.join(HERE, "programs", "rebuilt_in_helper")], Settings())
    assert [(os.path.basename(d.filename), d.code) for d in result.diagnostics] == [("train.py", "BNL001")]
    return result.diagnostics


def test_one_bug_one_finding_with_related_locations(folded):
    (d,) = folded
    assert [(os.path.basename(r.filename), r.location.row) for r in d.related] == [("models.py", 16)]
    assert "(see also " in render_text(folded) and "models.py:16:18)" in render_text(folded)
    (js,) = json.loads(render_json(folded))
    assert js["related"][0]["location"] == {"row": 16, "column": 18}


def test_related_locations_in_valid_sarif(folded):
    log = json.loads(render_sarif(folded))
    with open(os.path.join(HERE, "data", "sarif-schema-2.1.0.json"), encoding="utf-8") as fh:
        jsonschema.validate(log, json.load(fh))
    (result,) = log["runs"][0]["results"]
    (loc,) = result["relatedLocations"]
    assert loc["physicalLocation"]["region"]["startLine"] == 16
    assert loc["physicalLocation"]["artifactLocation"]["uri"].endswith("models.py")


def test_flag_set_in_an_eval_helper_is_reported_where_it_is_written():
    result = lint_paths([os.path.join(HERE, "programs", "eval_helper_training_true.py")], Settings())
    (d,) = result.diagnostics
    assert (d.code, d.location.row, d.fix is not None) == ("BNL006", 12, True)
    assert [r.location.row for r in d.related] == [16]

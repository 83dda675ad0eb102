"""Property tests of ``bnlint --fix`` on generated BN training programs.

Programs are assembled from the fragments real trainers are made of: TF imports under various
aliases, a model function with unnamed or named BN, a tower loop with or without variable reuse,
UPDATE_OPS read early, late, inline or never, a ``minimize`` or ``compute/apply_gradients`` step
with or without ``control_dependencies``, an eval graph built again, plus comments, blank lines,
tabs, CRLF and a BOM. For every program, ``--fix`` and ``--fix --unsafe-fixes``, through the
command's own entry point, every rule enabled (``--select ALL``):

* the output parses (CPython) and is still in the file's encoding, BOM and line-ending style;
* it is exactly the original with the ``fix.edits`` that ``--format json`` advertises applied,
  round after round, so every byte outside those edits is unchanged;
* fixing again changes nothing, and linting again finds none of the fixed findings (and no new
  finding); no fix is refused.
"""

from __future__ import annotations

import ast
import codecs
import contextlib
import io
import json
import os
import re
import sys
import tempfile
from collections import Counter
from typing import List, Tuple

from hypothesis import HealthCheck, given, settings, strategies as st

from bnlint.commands import cli
from bnlint.source.reading import RECURSION_LIMIT

# bnlint raises the recursion limit on its first parse; do it up front so hypothesis, which
# restores the limit after each example, does not warn that it changed under it.
sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))

IMPORTS = [
    ("import tensorflow as tf", "tf"),
    ("import tensorflow.compat.v1 as tf", "tf"),
    ("import tensorflow.compat.v1 as tf1", "tf1"),
    ("import tensorflow", "tensorflow"),
    ("from tensorflow.compat import v1 as tfv1", "tfv1"),
]
COMMENTS = ["# build the graph", "# TODO: tune", "# BN: keep the moving averages right", "# naïve über-comment",
            "#", "# noqa: E501", "# with tf.control_dependencies(...) -- not here"]
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


@st.composite
def programs(draw) -> Tuple[bytes, str]:
    imp, tf = draw(st.sampled_from(IMPORTS))
    unit = draw(st.sampled_from(["    ", "  ", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    bom = draw(st.booleans())
    named = draw(st.booleans())
    towers = draw(st.sampled_from([None, "plain", "auto_reuse", "reuse_variables"]))
    gather = draw(st.sampled_from(["early", "late", "inline", "none"]))
    guarded = draw(st.booleans())
    step = draw(st.sampled_from(["minimize", "apply_gradients"]))
    evaluation = draw(st.sampled_from([None, "rebuilt", "scoped"]))
    in_function = draw(st.booleans())

    body: List[Tuple[int, str]] = []  # (indent level, statement line)
    body.append((0, "def model(inputs, is_training):"))
    units = draw(st.sampled_from(["8", "(8)", "units=(4 * 2)"]))  # BNL015's fix appends after the last arg
    bias = draw(st.sampled_from([", use_bias=False", ""]))  # with a bias: BNL015 (opt-in)
    trailing = "," if draw(st.booleans()) else ""
    body.append((1, f"net = {tf}.layers.dense(inputs, {units}{bias}{trailing})"))
    name = ', name="bn1"' if named else ""
    body.append((1, f"net = {tf}.layers.batch_normalization(net, training=is_training{name})"))
    body.append((1, f"return {tf}.reduce_mean(net)"))
    body.append((0, ""))
    if in_function:
        body.append((0, "def build_graph(x, val_x):"))
        b = 1
    else:
        body.append((0, f"x = {tf}.placeholder({tf}.float32, [None, 4])"))
        body.append((0, f"val_x = {tf}.placeholder({tf}.float32, [None, 4])"))
        b = 0
    body.append((b, f"opt = {tf}.train.AdamOptimizer(0.01)"))
    gather_stmt = f"update_ops = {tf}.get_collection({tf}.GraphKeys.UPDATE_OPS)"
    if gather == "early":
        body.append((b, gather_stmt))
    if towers is None:
        if evaluation == "scoped":
            body.append((b, f'with {tf}.variable_scope("net"):'))
            body.append((b + 1, "loss = model(x, True)"))
        else:
            body.append((b, "loss = model(x, True)"))
    else:
        body.append((b, "losses = []"))
        t = b
        if towers == "auto_reuse":
            body.append((b, f"with {tf}.variable_scope({tf}.get_variable_scope(), reuse={tf}.AUTO_REUSE):"))
            t = b + 1
        elif towers == "reuse_variables":
            body.append((b, f"with {tf}.variable_scope({tf}.get_variable_scope()):"))
            t = b + 1
        body.append((t, "for i in range(2):"))
        body.append((t + 1, f'with {tf}.device("/gpu:%d" % i):'))
        body.append((t + 2, "losses.append(model(x, True))"))
        if towers == "reuse_variables":
            body.append((t + 2, f"{tf}.get_variable_scope().reuse_variables()"))
        body.append((b, f"loss = {tf}.add_n(losses) / 2"))
    if gather == "late":
        body.append((b, gather_stmt))
    steps = (["train_op = opt.minimize(loss)"] if step == "minimize"
             else ["grads = opt.compute_gradients(loss)", "train_op = opt.apply_gradients(grads)"])
    if guarded and gather != "none":
        deps = "update_ops" if gather in ("early", "late") else f"{tf}.get_collection({tf}.GraphKeys.UPDATE_OPS)"
        body.append((b, f"with {tf}.control_dependencies({deps}):"))
        body.extend((b + 1, s) for s in steps)
    else:
        body.extend((b, s) for s in steps)
    if evaluation == "rebuilt":
        body.append((b, "val_loss = model(val_x, False)"))
    elif evaluation == "scoped":
        body.append((b, f'with {tf}.variable_scope("net", reuse=True):'))
        body.append((b + 1, "val_loss = model(val_x, False)"))
    if in_function:
        body.append((b, "return train_op"))

    lines = [imp]
    for level, stmt in body:
        if stmt and draw(st.integers(0, 5)) == 0:  # a full-line comment, indented like the statement
            lines.append(unit * level + draw(st.sampled_from(COMMENTS)))
        if stmt and draw(st.integers(0, 4)) == 0:
            stmt += "  " + draw(st.sampled_from(COMMENTS))
        lines.append(unit * level + stmt if stmt else "")
        if draw(st.integers(0, 6)) == 0:
            lines.append("")
    text = newline.join(lines) + (newline if draw(st.booleans()) else "")
    return (codecs.BOM_UTF8 if bom else b"") + text.encode("utf-8"), newline


# --- the command, in-process ---------------------------------------------------------------------------


def bnlint(*args: str) -> Tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["--no-cache", "--isolated", "-j", "1", "--select", "ALL", *args])
    return code, out.getvalue(), err.getvalue()


def lint_json(path: str, unsafe: bool) -> list:
    code, out, err = bnlint("--format", "json", *(["--unsafe-fixes"] if unsafe else []), path)
    assert code in (0, 1), err
    return json.loads(out)


def applicable(diags: list, unsafe: bool) -> list:
    return [d for d in diags if d["fix"] and d["fix"]["edits"] and (unsafe or d["fix"]["applicability"] == "safe")]


def _pos(loc: dict) -> Tuple[int, int]:
    return loc["row"], loc["column"]


def chosen_fixes(diags: list) -> list:
    """The fixes one round applies: by position, skipping any that overlaps an earlier one."""
    chosen, seen, last_end = [], set(), None
    for d in sorted(diags, key=lambda d: (min(_pos(e["location"]) for e in d["fix"]["edits"]), d["code"])):
        edits = sorted(d["fix"]["edits"], key=lambda e: (_pos(e["location"]), _pos(e["end_location"])))
        key = json.dumps(edits, sort_keys=True)
        if key in seen or (last_end is not None and _pos(edits[0]["location"]) < last_end):
            continue
        if any(_pos(b["location"]) < _pos(a["end_location"]) for a, b in zip(edits, edits[1:])):
            continue
        seen.add(key)
        chosen.append(d)
        last_end = max(_pos(e["end_location"]) for e in edits)
    return chosen


def apply_edits(text: str, edits: list) -> str:
    starts = [0]
    for line in _LINE.findall(text):
        starts.append(starts[-1] + len(line))

    def offset(loc: dict) -> int:
        return starts[loc["row"] - 1] + loc["column"] - 1

    out, pos = [], 0
    for e in sorted(edits, key=lambda e: offset(e["location"])):
        start, end = offset(e["location"]), offset(e["end_location"])
        assert pos <= start <= end, "overlapping edits"
        out += [text[pos:start], e["content"]]
        pos = end
    return "".join(out + [text[pos:]])


def decode(raw: bytes) -> Tuple[str, bool]:
    bom = raw.startswith(codecs.BOM_UTF8)
    return raw[len(codecs.BOM_UTF8):].decode("utf-8") if bom else raw.decode("utf-8"), bom


# --- the property --------------------------------------------------------------------------------------------


def check_fix(raw: bytes, newline: str, unsafe: bool, folder: str) -> None:
    path = os.path.join(folder, "unsafe.py" if unsafe else "safe.py")
    flags = ["--unsafe-fixes"] if unsafe else []

    def write(data: bytes) -> None:
        with open(path, "wb") as fh:
            fh.write(data)

    # What --format json advertises, applied round after round (as --fix iterates to a fixpoint).
    original, bom = decode(raw)
    write(raw)
    before = diags = lint_json(path, unsafe)
    text, rounds = original, 0
    while True:
        chosen = chosen_fixes(applicable(diags, unsafe))
        if not chosen:
            break
        text = apply_edits(text, [e for d in chosen for e in d["fix"]["edits"]])
        rounds += 1
        assert rounds <= 10, "fixes do not converge"
        write((codecs.BOM_UTF8 if bom else b"") + text.encode("utf-8"))
        diags = lint_json(path, unsafe)

    write(raw)
    code, out, err = bnlint("--fix", *flags, path)
    assert "fixes not applied" not in err and code in (0, 1), err
    with open(path, "rb") as fh:
        fixed_raw = fh.read()
    fixed, fixed_bom = decode(fixed_raw)
    assert fixed == text, "--fix wrote something other than the advertised edits"
    assert fixed_bom == bom
    if newline == "\r\n":
        assert "\n" not in fixed.replace("\r\n", ""), "a bare LF in a CRLF file"
    else:
        assert "\r" not in fixed
    ast.parse(fixed)

    # Idempotent, and clean for what was fixed: the only findings left are the unfixable ones.
    code, _, err = bnlint("--fix", *flags, path)
    assert code in (0, 1) and "Fixed" not in err, err
    with open(path, "rb") as fh:
        assert fh.read() == fixed_raw, "a second --fix changed the file again"
    after = Counter(d["code"] for d in lint_json(path, unsafe))
    unfixable = Counter(d["code"] for d in before if d not in applicable(before, unsafe))
    assert not (after - unfixable), f"findings left or created by fixing: {dict(after - unfixable)}"
    assert not applicable(lint_json(path, unsafe), unsafe)


@settings(max_examples=50, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(programs())
def test_fix_output_is_the_advertised_edits_parses_and_is_a_fixpoint(program):
    raw, newline = program
    with tempfile.TemporaryDirectory() as folder:
        check_fix(raw, newline, unsafe=False, folder=folder)
        check_fix(raw, newline, unsafe=True, folder=folder)


def test_generator_reaches_every_fixable_rule():
    """The fragments produce the findings the fixes are for (else the property proves little)."""
    seen = Counter()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "p.py")

        @settings(max_examples=40, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(programs())
        def collect(program):
            with open(path, "wb") as fh:
                fh.write(program[0])
            for d in applicable(lint_json(path, True), True):
                seen[(d["code"], d["fix"]["applicability"])] += 1

        collect()
    assert {("BNL001", "unsafe"), ("BNL002", "safe"), ("BNL003", "safe"), ("BNL015", "unsafe")} <= set(seen), seen

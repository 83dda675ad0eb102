"""`bnlint server`: the real server process over stdio, driven by a JSON-RPC client (tests/lsp_client.py)."""

import os

import pytest

pytest.importorskip("pygls")

from bn_snippets import MODELS, STEP_BUG  # noqa: E402
from lsp_client import LspClient, apply_edits, uri_of  # noqa: E402

TRAIN_WITH_MODELS = """\
import tensorflow as tf
from models import small_cnn

loss = small_cnn(tf.zeros([4, 8, 8, 3]), True)
train_op = tf.train.AdamOptimizer().minimize(loss)
"""


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[tool.bnlint]\n")
    client = LspClient(str(root))
    client.initialize(str(root), {"debounce": 20})
    yield client, root
    assert client.close() == 0


def open_doc(client, path, text, version=1, language="python"):
    uri = uri_of(str(path))
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": language, "version": version,
                                                           "text": text}})
    return uri


def change(client, uri, version, text):
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                             "contentChanges": [{"text": text}]})


def actions(client, uri, rng, diags, only=None):
    context = {"diagnostics": diags}
    if only:
        context["only"] = only
    return client.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": rng, "context": context})


def test_diagnostics_quickfix_and_the_diagnostic_goes(server):
    client, root = server
    uri = open_doc(client, root / "train.py", STEP_BUG)
    diags = client.diagnostics(uri)
    assert [(d["code"], d["range"]["start"], d["source"]) for d in diags] == \
        [("BNL003", {"line": 2, "character": 11}, "bnlint")]
    assert diags[0]["codeDescription"]["href"].endswith("#bnl003")
    found = actions(client, uri, diags[0]["range"], diags)
    titles = [a["title"] for a in found]
    fix = next(a for a in found if "(BNL003)" in a["title"])
    assert fix["kind"] == "quickfix" and fix["isPreferred"] is True and "unsafe" not in fix["title"]
    assert "Add `# noqa: BNL003` for this line" in titles
    fixed = apply_edits(STEP_BUG, fix["edit"]["changes"][uri])
    assert "with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):\n" in fixed
    change(client, uri, 2, fixed)
    assert client.diagnostics(uri) == []


def test_unsafe_fix_is_marked_and_not_preferred(server):
    client, root = server
    text = open(os.path.join(os.path.dirname(__file__), "programs", "report_multigpu_buggy.py")).read()
    uri = open_doc(client, root / "report.py", text)
    diags = client.diagnostics(uri)
    bnl001 = next(d for d in diags if d["code"] == "BNL001")
    fix = next(a for a in actions(client, uri, bnl001["range"], [bnl001]) if "(BNL001)" in a["title"])
    assert fix["title"].endswith("[unsafe: review the change]") and fix["isPreferred"] is False


def test_fix_all_applies_every_safe_fix(server):
    client, root = server
    text = open(os.path.join(os.path.dirname(__file__), "programs", "report_multigpu_buggy.py")).read()
    uri = open_doc(client, root / "report.py", text)
    diags = client.diagnostics(uri)
    assert "BNL002" in {d["code"] for d in diags}
    found = actions(client, uri, {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, [],
                    only=["source.fixAll"])
    assert [a["kind"] for a in found] == ["source.fixAll.bnlint"]
    fixed = apply_edits(text, found[0]["edit"]["changes"][uri])
    change(client, uri, 2, fixed)
    left = {d["code"] for d in client.diagnostics(uri)}
    assert "BNL002" not in left and "BNL001" in left  # the unsafe BNL001 fix is not part of fixAll


def test_noqa_action_silences_the_line(server):
    client, root = server
    uri = open_doc(client, root / "train.py", STEP_BUG)
    diags = client.diagnostics(uri)
    noqa = next(a for a in actions(client, uri, diags[0]["range"], diags) if "noqa" in a["title"])
    text = apply_edits(STEP_BUG, noqa["edit"]["changes"][uri])
    assert text.splitlines()[2].endswith("reduce_sum(y))  # noqa: BNL003")
    change(client, uri, 2, text)
    assert client.diagnostics(uri) == []


def test_hover_shows_the_rule_page(server):
    client, root = server
    uri = open_doc(client, root / "train.py", STEP_BUG)
    diags = client.diagnostics(uri)
    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 2, "character": 20}})
    assert hover["contents"]["kind"] == "markdown" and hover["contents"]["value"].startswith("# BNL003 ")
    assert hover["range"] == diags[0]["range"]
    assert client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}) is None


def test_unsaved_buffer_uses_the_facts_of_imported_modules(server):
    client, root = server
    (root / "models.py").write_text(MODELS)
    uri = open_doc(client, root / "train.py", TRAIN_WITH_MODELS)  # never saved: not on disk
    assert [d["code"] for d in client.diagnostics(uri)] == ["BNL003"]
    change(client, uri, 2, TRAIN_WITH_MODELS.replace("from models import small_cnn", "from nowhere import small_cnn"))
    assert client.diagnostics(uri) == []  # without the module's facts there is no BN


def test_saving_an_imported_module_updates_its_importers(server):
    client, root = server
    uri = open_doc(client, root / "train.py", TRAIN_WITH_MODELS)
    assert client.diagnostics(uri) == []  # models.py does not exist yet
    (root / "models.py").write_text(MODELS)
    models_uri = open_doc(client, root / "models.py", MODELS)
    assert client.diagnostics(models_uri) == []
    client.notify("textDocument/didSave", {"textDocument": {"uri": models_uri}})
    assert [d["code"] for d in client.diagnostics(uri)] == ["BNL003"]


def test_configuration_from_the_workspace(server):
    client, root = server
    (root / "pyproject.toml").write_text('[tool.bnlint]\nignore = ["BNL003"]\n')
    uri = open_doc(client, root / "train.py", STEP_BUG)
    assert client.diagnostics(uri) == []
    (root / "pyproject.toml").write_text('[tool.bnlint]\nselect = ["BNL0"]\nbad-key = 1\n')
    client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
    diags = client.diagnostics(uri)
    assert [d["code"] for d in diags] == ["BNL900"] and "unknown key 'bad-key'" in diags[0]["message"]


def test_changes_are_debounced_to_one_lint(server):
    client, root = server
    uri = open_doc(client, root / "train.py", "import tensorflow as tf\n")
    assert client.diagnostics(uri) == []
    for version in range(2, 7):  # a burst of typing, faster than the debounce
        change(client, uri, version, STEP_BUG if version == 6 else f"x = {version}\n")
    at, params = client.wait("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)
    assert params["version"] == 6 and [d["code"] for d in params["diagnostics"]] == ["BNL003"]


def test_notebook_document_cells(server):
    client, root = server
    nb_uri = uri_of(str(root / "nb.ipynb"))
    cells = [("markdown", "# Title"), ("python", "%matplotlib inline\nimport tensorflow as tf"),
             ("python", "!nvidia-smi\ny = tf.layers.batch_normalization(tf.zeros([4, 3]), training=True)\n"
                        "train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))")]
    cell_uris = [f"vscode-notebook-cell:{root}/nb.ipynb#c{i}" for i in range(len(cells))]
    client.notify("notebookDocument/didOpen", {
        "notebookDocument": {"uri": nb_uri, "notebookType": "jupyter-notebook", "version": 1,
                             "cells": [{"kind": 1 if lang == "markdown" else 2, "document": u}
                                       for (lang, _), u in zip(cells, cell_uris)]},
        "cellTextDocuments": [{"uri": u, "languageId": lang, "version": 1, "text": text}
                              for (lang, text), u in zip(cells, cell_uris)]})
    got = {}
    while len(got) < 3:
        _, params = client.wait("textDocument/publishDiagnostics", lambda p: p["uri"] in cell_uris)
        got[params["uri"]] = params["diagnostics"]
    assert got[cell_uris[0]] == [] and got[cell_uris[1]] == []
    (diag,) = got[cell_uris[2]]
    assert diag["code"] == "BNL003" and diag["range"]["start"] == {"line": 2, "character": 11}
    assert "built at cell 3, line 2" in diag["message"]
    fix = next(a for a in actions(client, cell_uris[2], diag["range"], [diag]) if "(BNL003)" in a["title"])
    assert list(fix["edit"]["changes"]) == [cell_uris[2]]
    new_text = apply_edits(cells[2][1], fix["edit"]["changes"][cell_uris[2]])
    assert new_text.startswith("!nvidia-smi\n") and "with tf.control_dependencies(" in new_text
    client.notify("notebookDocument/didChange", {
        "notebookDocument": {"uri": nb_uri, "version": 2},
        "change": {"cells": {"textContent": [{"document": {"uri": cell_uris[2], "version": 2},
                                              "changes": [{"text": new_text}]}]}}})
    _, params = client.wait("textDocument/publishDiagnostics", lambda p: p["uri"] == cell_uris[2])
    assert params["diagnostics"] == []


def test_positions_are_utf16_units(server):
    client, root = server
    text = STEP_BUG.replace("AdamOptimizer()", "AdamOptimizer(name='😀é')")  # 😀: two UTF-16 units, é: one
    uri = open_doc(client, root / "train.py", text)
    (diag,) = client.diagnostics(uri)
    line = text.splitlines()[2]
    assert diag["range"]["start"] == {"line": 2, "character": line.index("tf.train")}
    assert diag["range"]["end"] == {"line": 2, "character": len(line.encode("utf-16-le")) // 2}  # code points + 1
    fix = next(a for a in actions(client, uri, diag["range"], [diag]) if "(BNL003)" in a["title"])
    fixed = apply_edits(text, fix["edit"]["changes"][uri])
    assert "    train_op = tf.train.AdamOptimizer(name='😀é').minimize(tf.reduce_sum(y))\n" in fixed
    change(client, uri, 2, fixed)
    assert client.diagnostics(uri) == []


def _fresh(path, text):
    """A full lint of ``text`` as ``path``: a whole parse, no cached statements (what the server must match)."""
    from bnlint.run.config import load_settings
    from bnlint.run.single_file import lint_text

    lint = lint_text(str(path), text, load_settings([str(path)]))
    return [(d.code, d.message, (d.location.row - 1, d.location.column - 1),
             ((d.end_location or d.location).row - 1, (d.end_location or d.location).column - 1),
             d.fix.applicability if d.fix is not None and d.fix.edits else None) for d in lint.diagnostics]


def _published(diags):
    return [(d["code"], d["message"], (d["range"]["start"]["line"], d["range"]["start"]["character"]),
             (d["range"]["end"]["line"], d["range"]["end"]["character"]), d["data"]["fix"]) for d in diags]


def test_diagnostics_after_a_series_of_edits_are_those_of_a_fresh_full_lint(server):
    """The server re-parses only the statements an edit touched, keeps the facts of the imported
    modules and asks the fix checks of the touched statements: after each of a series of
    editor-style (incremental) edits its diagnostics are exactly those of a fresh whole lint of
    the same text, and at the end those of the CLI on the saved file."""
    import json
    import subprocess
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
    import lsp_latency

    client, root = server
    (root / "models.py").write_text(lsp_latency.MODELS)
    (root / "optim.py").write_text(lsp_latency.OPTIM)
    path = root / "train.py"
    text = lsp_latency.trainer(300)
    uri = open_doc(client, path, text)
    assert _published(client.diagnostics(uri)) == _fresh(path, text)
    state = {"text": text, "version": 1}

    def edit(old, new, count=1):
        text = state["text"]
        assert text.count(old) >= count, old
        start = text.index(old) if count == 1 else [i for i in range(len(text)) if text.startswith(old, i)][count - 1]
        before = text[:start]
        line = before.count("\n")
        char = len(before) - (before.rfind("\n") + 1)
        end_before = text[:start + len(old)]
        end = {"line": end_before.count("\n"), "character": len(end_before) - (end_before.rfind("\n") + 1)}
        state["version"] += 1
        client.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": state["version"]},
            "contentChanges": [{"range": {"start": {"line": line, "character": char}, "end": end}, "text": new}]})
        state["text"] = text[:start] + new + text[start + len(old):]
        _, params = client.wait("textDocument/publishDiagnostics",
                                lambda p: p["uri"] == uri and p.get("version") == state["version"])
        assert _published(params["diagnostics"]) == _fresh(path, state["text"]), (old, new)
        return params["diagnostics"]

    edit("EDITED = 0", "EDITED = 1")
    edit("\n\ndef augment_3(", "\n\ndef extra(x, training):\n    return tf.layers.batch_normalization(x, training=training)\n"
         "\n\ndef augment_3(")  # a new function between two others
    edit("    scale = tf.constant(2.0 / 100.0)\n",
         "    scale = tf.constant(2.0 / 100.0)\n    images = tf.layers.batch_normalization(images, training=True)\n")
    edit("logits = small_cnn(augment_0(images), is_training)",
         "logits = small_cnn(augment_2(images), is_training)")  # now the step's BN comes from a helper too
    edit("def augment_1(images, seed=1):", "def augment_1(images, seed=1:")  # a syntax error...
    edit("def augment_1(images, seed=1:", "def augment_1(images, seed=1):")  # ...and back
    edit("EDITED = 1\n", "EDITED = 1; OTHER = tf.layers.batch_normalization(images, training=False)\n")
    edit("def augment_4(", "@tf.function\ndef augment_4(")  # a decorator above a statement
    start = state["text"].index("\n\ndef augment_5(")
    edit(state["text"][start:state["text"].index("\n\ndef augment_6(")], "")  # a whole function deleted
    edit('"""A generated trainer', '"""A generated, edited trainer')  # the first statement
    diags = edit("train_op = tf.train.MomentumOptimizer", "train_op = tf.train.AdamOptimizer")
    step = next(d for d in diags if d["code"] == "BNL003")
    fix = next(a for a in actions(client, uri, step["range"], [step]) if "(BNL003)" in a["title"])
    fixed = apply_edits(state["text"], fix["edit"]["changes"][uri])
    line = next(ln for ln in fixed.splitlines(keepends=True) if ln.startswith("with tf.control_dependencies"))
    body = fixed[fixed.index(line):].split("\n", 2)
    edit(state["text"][state["text"].index("train_op = tf.train.AdamOptimizer"):].split("\n", 1)[0],
         body[0] + "\n" + body[1])  # the quick fix, typed in
    assert "BNL003" not in [d["code"] for d in edit("EDITED = 1;", "EDITED = 2;")
                            if d["range"]["start"]["line"] == step["range"]["start"]["line"]]
    edit("from optim import learning_rate, make_step\n", "from optim import learning_rate, make_step  # noqa\n")
    edit(state["text"], state["text"].rstrip("\n"))  # no trailing newline at the end of the file
    edit("\nBATCH = 32\n", "\nBATCH = 32  # noqa: BNL003\nimport os\n")
    # the CLI, on the saved file and the modules it imports, says the same
    path.write_text(state["text"])
    out = subprocess.run([sys.executable, "-m", "bnlint", "--format", "json", "train.py", "models.py", "optim.py"],
                         cwd=root, capture_output=True, text=True)
    cli = [(d["code"], d["message"], (d["location"]["row"] - 1, d["location"]["column"] - 1),
            (d["end_location"]["row"] - 1, d["end_location"]["column"] - 1),
            d["fix"]["applicability"] if d.get("fix") and d["fix"]["edits"] else None)
           for d in json.loads(out.stdout) if d["filename"] == "train.py"]
    assert cli == _fresh(path, state["text"])


def test_garbage_is_collected_after_answers_at_edits_and_when_idle(tmp_path):
    """Automatic collection is off in the server; collections come after each answer (young
    generation), when an edit makes the last result stale (middle one) and when idle (all)."""
    import time

    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[tool.bnlint]\n")
    client = LspClient(str(root))
    client.initialize(str(root), {"debounce": 20, "logTiming": True})
    try:
        uri = open_doc(client, root / "train.py", STEP_BUG)
        client.diagnostics(uri)
        for version in range(2, 5):
            change(client, uri, version, STEP_BUG + f"x = {version}\n")
            client.wait("textDocument/publishDiagnostics", lambda p: p.get("version") == version)
        time.sleep(1.6)  # idle: the full collection
        client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}})
        events = [m["params"]["message"] for m in client.log if m.get("method") == "window/logMessage"]
        kinds = [("lint" if "linted" in e else e.split("(generation ")[1][0]) for e in events
                 if "linted" in e or "collected garbage" in e]
        assert kinds[:2] == ["lint", "0"]
        assert kinds[2:11] == ["1", "lint", "0"] * 3  # each edit: the stale result freed, lint, young generation
        assert kinds[11:] == ["2"]
    finally:
        assert client.close() == 0

"""The shape of the code: layers that only import downwards, no import cycles, no TensorFlow in the core.

Every import counts, including imports inside functions (a lazy import is still a dependency) and
``if TYPE_CHECKING:`` imports. See ARCHITECTURE.md for what each layer owns.
"""
from __future__ import annotations

import ast
import os
from typing import Dict, List, Set

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Bottom to top. A module may import its own layer and the layers below it, never one above.
LAYERS: List[List[str]] = [
    ["bnlint", "bnlint.core"],            # the package itself (``__version__``, Diagnostic) and shared types
    ["bnlint.source"],                    # paths -> decoded text, notebooks, prefilter
    ["bnlint.analysis"],                  # one module's walk, project-wide facts
    ["bnlint.facts"],                     # shared questions the rules ask, by topic
    ["bnlint.fix"],                       # fix building blocks and the checks on a fix
    ["bnlint.rulekit"],                   # Rule, RuleContext, root causes
    ["bnlint.rules"],                     # one file per rule (rules/)
    ["bnlint.lint"],                      # registry, running the rules on modules
    ["bnlint.report"],                    # output formats, rule pages
    ["bnlint.run"],                       # lint_paths, tree run, workers, cache, single file, fixing files
    ["bnlint.runtime"],                   # the TensorFlow inspector (an extra)
    ["bnlint.commands", "bnlint.flake8_plugin", "bnlint.__main__"],  # entry points
]
# The part that must run without TensorFlow installed (the flake8 plugin and every static command).
STATIC = ["bnlint", "bnlint.core", "bnlint.source", "bnlint.analysis", "bnlint.facts", "bnlint.fix",
          "bnlint.rulekit", "bnlint.rules", "bnlint.lint", "bnlint.report", "bnlint.run", "bnlint.flake8_plugin",
          "bnlint.__main__", "bnlint.commands.cli", "bnlint.commands.lint", "bnlint.commands.noqa",
          "bnlint.commands.server"]
TF_NAMES = ("tensorflow", "tf_keras", "keras", "tf_slim")


def _modules() -> Dict[str, str]:
    """Dotted name -> file, for bnlint/ and rules/ (installed as bnlint.rules)."""
    out = {}
    for base, pkg in (("bnlint", "bnlint"), ("rules", "bnlint.rules")):
        top = os.path.join(ROOT, base)
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            rel = os.path.relpath(dirpath, top)
            parts = [pkg] + ([] if rel == "." else rel.split(os.sep))
            for f in filenames:
                if f.endswith(".py"):
                    name = ".".join(parts) if f == "__init__.py" else ".".join(parts + [f[:-3]])
                    out[name] = os.path.join(dirpath, f)
    return out


MODULES = _modules()


def _imports(name: str, path: str) -> Set[str]:
    """Every module ``name`` imports (absolute names; ``from pkg import mod`` counts as ``pkg.mod``)."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    is_pkg = path.endswith("__init__.py")
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[:len(base) - node.level + (1 if is_pkg else 0)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            for a in node.names:
                if f"{mod}.{a.name}" in MODULES:
                    out.add(f"{mod}.{a.name}")
    return out


def _graph() -> Dict[str, Set[str]]:
    graph = {}
    for name, path in MODULES.items():
        deps = set()
        for imp in _imports(name, path):
            # the nearest module of ours it names (``bnlint.analysis.project.Project`` -> the module)
            parts = imp.split(".")
            while parts and ".".join(parts) not in MODULES:
                parts.pop()
            if parts and ".".join(parts) != name:
                deps.add(".".join(parts))
        graph[name] = deps
    return graph


GRAPH = _graph()


def _layer(name: str) -> int:
    best, found = -1, -1
    for i, layer in enumerate(LAYERS):
        for prefix in layer:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), i
    return found


def test_every_module_has_a_layer():
    assert [m for m in MODULES if _layer(m) < 0] == []
    assert len(MODULES) > 60  # the walk found the tree


def test_no_import_from_a_lower_layer_to_a_higher_one():
    upward = []
    for name, deps in sorted(GRAPH.items()):
        for dep in sorted(deps):
            # a package's __init__ is imported with every module in it: importing bnlint.x.y from
            # below is what counts, and that is dep itself
            if _layer(dep) > _layer(name):
                upward.append(f"{name} (layer {_layer(name)}) imports {dep} (layer {_layer(dep)})")
    assert upward == []


def test_no_import_cycle_between_modules():
    # Tarjan's strongly connected components: any component of more than one module is a cycle.
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on: Set[str] = set()
    cycles: List[List[str]] = []
    counter = [0]

    def visit(v: str):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert cycles == []


def test_the_layer_check_sees_function_level_imports():
    # lint.registry imports the rules package inside all_rules(): the edge must be in the graph.
    assert "bnlint.rules" in GRAPH["bnlint.lint.registry"]


@pytest.mark.parametrize("root", STATIC)
def test_static_core_never_imports_tensorflow(root):
    bad = []
    for name, path in MODULES.items():
        if name == root or (root != "bnlint" and name.startswith(root + ".")):
            for imp in _imports(name, path):
                if imp.split(".")[0] in TF_NAMES or imp.startswith("bnlint.runtime"):
                    bad.append(f"{name} imports {imp}")
    assert bad == []

"""``bnlint inspect``: the runtime inspector's command line (``main(argv) -> exit code``).

    bnlint inspect FILE.meta [--train-op NAME] [--eval-fetch NAME] [--format text|json]
    bnlint inspect [--devices N] [--steps K] [--format text|json] -- SCRIPT [ARGS...]

A TF2/Keras script (no v1 Session/graph API) runs to its end in a child process on N logical CPUs
under the Keras BN observer (BNL104, BNL106..BNL111; per layer and phase table on stderr).

Exit codes as the linter: 0 no findings (info notes alone count as none), 1 findings,
2 error (script crashed, no train op found, unreadable MetaGraph, TensorFlow missing).
Findings go to stdout; in script mode the script's own output goes to stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional, Sequence

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bnlint inspect",
        description="Inspect a TensorFlow v1 graph (MetaGraph file) or a running training script for "
                    "batch-normalization misuse (BNL101..BNL107).",
        epilog="Script mode: bnlint inspect [options] -- SCRIPT [ARGS...]",
    )
    p.add_argument("meta", nargs="?", help="MetaGraph file written by tf.compat.v1.train.export_meta_graph")
    p.add_argument("--train-op", action="append", default=None,
                   help="train op/tensor name (default: the 'train_op' collection); repeatable")
    p.add_argument("--eval-fetch", action="append", default=None,
                   help="an inference/eval fetch name; repeatable")
    p.add_argument("--devices", type=int, default=2, help="logical CPU devices for the script (default 2)")
    p.add_argument("--steps", type=int, default=None,
                   help="training steps before the dynamic check; 0 lets the script finish (default 10)")
    p.add_argument("--small-batch", type=int, default=None, help="BNL106 per-device batch threshold (default 16)")
    p.add_argument("--format", "--output-format", dest="format", choices=["text", "json"], default="text")
    p.add_argument("--config", default=None, help="pyproject.toml to read [tool.bnlint] from")
    p.add_argument("--isolated", action="store_true", help="ignore configuration files")
    return p


def _settings(path: str, args):
    """[tool.bnlint] for the inspected file, as the linter reads it: small-batch is BNL106's
    threshold (``--small-batch`` wins), and select/ignore/per-file-ignores filter BNL1xx codes."""
    from bnlint.run.config import load_settings
    from bnlint.core.settings import Settings

    settings = Settings() if args.isolated else load_settings([path], args.config)
    if args.small_batch is not None:
        settings.small_batch = args.small_batch
    return settings


def _selected(diags, settings, path: str):
    return [d for d in diags if settings.enabled(d.code, True, path)]


def _render(diags, fmt: str) -> str:
    from bnlint.report.output import render_json, render_text

    return (render_json if fmt == "json" else render_text)(diags)


def _error(message: str) -> int:
    print(f"bnlint inspect: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _exit_code(diags) -> int:
    return EXIT_FINDINGS if any(d.severity != "info" for d in diags) else EXIT_CLEAN


def _inspect_meta(path: str, args, settings) -> int:
    from bnlint.runtime._tf import tf, v1
    from bnlint.runtime.checks import inspect_graph

    if not os.path.isfile(path):
        return _error(f"no such file: {path}")
    graph = tf.Graph()
    try:
        with graph.as_default():
            v1.train.import_meta_graph(path)
    except Exception as exc:  # a corrupt or foreign file: report, do not trace back
        return _error(f"cannot read MetaGraph {path}: {exc}")
    try:
        if args.train_op:
            train = [graph.as_graph_element(name) for name in args.train_op]
        else:
            train = graph.get_collection(v1.GraphKeys.TRAIN_OP)
        evals = [graph.as_graph_element(name) for name in args.eval_fetch] if args.eval_fetch else None
    except (KeyError, ValueError) as exc:
        return _error(str(exc))
    if not train:
        return _error(f"no train op found in {path}: pass --train-op NAME (or add it to the 'train_op' collection)")
    diags = _selected(inspect_graph(graph, train, evals, filename=path, small_batch=settings.small_batch),
                      settings, path)
    sys.stdout.write(_render(diags, args.format))
    return _exit_code(diags)


def _inspect_script(script_argv: List[str], args, settings) -> int:
    from bnlint.runtime.moving_stats import DEFAULT_STEPS
    from bnlint.runtime.script import run_script
    from bnlint.runtime.tf2_script import format_phase_table, is_tf2_script, run_tf2_script

    script, argv = script_argv[0], script_argv[1:]
    if is_tf2_script(script):  # Keras/TF2: a child process on N logical devices, run to its end
        report = run_tf2_script(script, argv, devices=args.devices, small_batch=settings.small_batch,
                                echo=sys.stderr)
        table = format_phase_table(report.phases) if report.phases else ""
    else:
        steps = DEFAULT_STEPS if args.steps is None else args.steps
        report = run_script(script, argv, devices=args.devices, steps=steps, small_batch=settings.small_batch,
                            echo=sys.stderr)
        table = format_layer_table(report.layers) if report.layers else ""
    if report.error:
        return _error(report.error)
    diags = _selected(report.diagnostics, settings, script)
    sys.stdout.write(_render(diags, args.format))
    if args.format == "text":
        sys.stderr.write(table)
    return _exit_code(diags)


def format_layer_table(rows) -> str:
    """The per-layer BNL107 table (text)."""
    def num(x):
        return "-" if x is None else f"{x:.3g}"

    header = ("layer", "towers", "mean changed", "var changed", "mean dist", "var dist")
    body = [(r.layer, ",".join(map(str, r.towers)) or "-", str(r.mean_changed), str(r.var_changed),
             f"{num(r.mean_dist_initial)} -> {num(r.mean_dist)}", f"{num(r.var_dist_initial)} -> {num(r.var_dist)}")
            for r in rows]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *body]]
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["inspect"]:
        argv = argv[1:]
    script_argv = None
    if "--" in argv:
        cut = argv.index("--")
        argv, script_argv = argv[:cut], argv[cut + 1:]
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return int(exc.code) if isinstance(exc.code, int) else EXIT_ERROR
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    target = script_argv[0] if script_argv else args.meta
    try:
        settings = _settings(target or ".", args)
    except ValueError as exc:  # a broken [tool.bnlint]: the linter's message and exit code
        return _error(str(exc))
    try:
        if script_argv is not None:
            if not script_argv or args.meta:
                return _error("script mode takes options before `--` and the script after it")
            return _inspect_script(script_argv, args, settings)
        if args.meta is None:
            return _error("give a MetaGraph file, or `-- SCRIPT [ARGS]`")
        if args.meta.endswith(".py"):
            return _inspect_script([args.meta], args, settings)
        return _inspect_meta(args.meta, args, settings)
    except ImportError as exc:
        return _error(f"{exc} (install bnlint[runtime])")


if __name__ == "__main__":
    sys.exit(main())

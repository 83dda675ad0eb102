"""The ``bnlint`` command: lint (default), ``rule``, ``inspect`` (runtime), ``verify``.

Exit codes follow ruff: 0 clean, 1 findings, 2 usage/internal error.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from typing import List, Optional, Sequence

from bnlint import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _codes(value: str) -> List[str]:
    return [c.strip().upper() for c in value.split(",") if c.strip()]


def _patterns(value: str) -> List[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bnlint",
        description="Find (and fix) batch-normalization misuse in TensorFlow code.",
        epilog="Subcommands: `bnlint rule CODE|--all`, `bnlint inspect ...` (runtime, needs bnlint[runtime]), "
        "`bnlint verify SCRIPT` (fix + prove by execution), `bnlint server` (language server over stdio).",
    )
    p.add_argument("paths", nargs="*", default=["."], help="files or folders (default: .)")
    p.add_argument("--select", type=_codes, default=None, help="comma-separated codes/prefixes to enable")
    p.add_argument("--extend-select", type=_codes, default=None, help="codes to enable on top of the selection")
    p.add_argument("--ignore", type=_codes, default=None, help="codes/prefixes to disable")
    p.add_argument("--format", "--output-format", dest="format", default=None,
                   choices=["text", "json", "sarif", "github", "grouped"], help="output format (default text)")
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    p.add_argument("-q", "--quiet", action="store_true", help="print findings only, no summary")
    p.add_argument("--statistics", action="store_true", help="count findings per code")
    p.add_argument("--fix", action="store_true", help="apply safe fixes in place")
    p.add_argument("--unsafe-fixes", action="store_true", default=None, help="also apply unsafe fixes")
    p.add_argument("--diff", action="store_true", help="print the fixes as a unified diff; write nothing")
    p.add_argument("--show-fixes", action="store_true", help="list the fixes applied or available")
    p.add_argument("--add-noqa", action="store_true", help="add `# noqa: CODE` to every line with a finding")
    p.add_argument("--include", type=_patterns, default=None,
                   help="comma-separated file patterns a folder walk lints, replacing the default and configured "
                   "ones (default: *.py,*.ipynb)")
    p.add_argument("--extend-include", type=_patterns, default=None,
                   help="file patterns to lint on top, e.g. '*.pyw' (files named on the command line are always linted)")
    p.add_argument("--exclude", type=_patterns, default=None,
                   help="comma-separated path patterns to skip, replacing the default and configured ones")
    p.add_argument("--extend-exclude", type=_patterns, default=None, help="path patterns to skip on top")
    p.add_argument("--force-exclude", action="store_true",
                   help="apply exclude patterns to files named on the command line too (for pre-commit)")
    p.add_argument("--notebooks", action=argparse.BooleanOptionalAction, default=None,
                   help="lint Jupyter notebooks (*.ipynb) in folders and on the command line (default: on; "
                   "--no-notebooks is a shorthand that leaves every notebook out, whatever --include says; "
                   "config key `notebooks`)")
    p.add_argument("--config", default=None, help="pyproject.toml to read [tool.bnlint] from")
    p.add_argument("--isolated", action="store_true", help="ignore configuration files")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the result cache")
    p.add_argument("-j", "--jobs", type=int, default=None, help="parallel workers (default: all cores)")
    p.add_argument("--timeout", type=float, default=None, help="per-file analysis time limit in seconds")
    p.add_argument("--color", choices=["auto", "always", "never"], default="auto")
    p.add_argument("--version", action="version", version=f"bnlint {__version__}")
    return p


@contextlib.contextmanager
def _stop_on_signals():
    """SIGINT and SIGTERM stop a lint/fix run cleanly: the file being written is finished or rolled
    back and its temporary file removed (SIGTERM's default action would end bnlint mid-write). The
    handler raises KeyboardInterrupt and also records the request for the fixer, which checks it
    before each file: Python drops an exception raised inside a __del__ or weakref callback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pid = os.getpid()

    def fixer_stop():
        # Only a run that fixes has imported the fixer (and with it libcst): a warm lint run must not.
        fixer = sys.modules.get("bnlint.run.fixer")
        return fixer.STOP if fixer is not None else None

    def stop(signum, frame):
        if os.getpid() != pid:  # a forked worker inherited this handler: end as the signal means
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        if fixer_stop() is not None:
            fixer_stop().set()
        raise KeyboardInterrupt

    previous_hook = sys.unraisablehook

    def unraisable(info):
        # The signal landed inside a finalizer or weakref callback, where Python drops the exception
        # and prints a traceback. Stay quiet and deliver the signal again: the handler then raises in
        # ordinary code a moment later.
        if isinstance(info.exc_value, KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
            return
        previous_hook(info)

    if fixer_stop() is not None:
        fixer_stop().clear()
    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    sys.unraisablehook = unraisable
    try:
        yield
    finally:
        sys.unraisablehook = previous_hook
        for s, handler in previous.items():
            signal.signal(s, handler)


# Subcommands whose dependencies sit in an extra: name -> (module with ``main(argv)``, the extra).
_EXTRA_COMMANDS = {"inspect": ("bnlint.runtime.cli", "runtime"), "verify": ("bnlint.commands.verify", "runtime"),
                   "server": ("bnlint.commands.server", "lsp")}


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "rule":
            from bnlint.report.docs import rule_command

            return rule_command(argv[1:])
        if argv and argv[0] in _EXTRA_COMMANDS:
            import importlib

            module, extra = _EXTRA_COMMANDS[argv[0]]
            try:
                command = importlib.import_module(module).main
            except ImportError as exc:
                print(f"bnlint {argv[0]} needs the {extra} extra (pip install 'bnlint[{extra}]'): {exc}", file=sys.stderr)
                return EXIT_ERROR
            return command(argv[1:])
        if argv and argv[0] == "check":
            argv = argv[1:]
        args = build_parser().parse_args(argv)
        from bnlint.commands.lint import run

        with _stop_on_signals():
            return run(args)
    except SystemExit as exc:  # argparse: --help (0) or usage error (2)
        return int(exc.code) if isinstance(exc.code, int) else EXIT_ERROR
    except KeyboardInterrupt:
        print("bnlint: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        from bnlint.run.parallel import interrupted

        if not interrupted(exc):  # libcst may report an interrupt as its own KeyError
            raise
        print("bnlint: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

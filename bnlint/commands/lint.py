"""The default command: lint paths, print findings, optionally fix."""

from __future__ import annotations

import os
import sys

from bnlint.source.notebook import at_cells
from bnlint.report.output import FORMATTERS, render_available_fixes, statistics
from bnlint.core.settings import Settings

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def settings_from_args(args) -> Settings:
    """Configuration file first (when present), command-line flags on top."""
    settings = Settings()
    try:
        from bnlint.run.config import load_settings
    except ImportError:
        load_settings = None
    if load_settings is not None and not getattr(args, "isolated", False):
        settings = load_settings(args.paths, args.config)
    if args.select is not None:  # as in ruff, a command-line --select starts the selection afresh
        settings.select, settings.extend_select, settings.ignore = args.select, [], []
    if args.extend_select:
        settings.extend_select = list(settings.extend_select) + args.extend_select
    if args.ignore:
        settings.ignore = list(settings.ignore) + args.ignore
    if getattr(args, "include", None) is not None:  # as in ruff: replaces the configured includes
        settings.include, settings.extend_include = args.include, []
    if getattr(args, "extend_include", None):
        settings.extend_include = list(settings.extend_include) + args.extend_include
    if getattr(args, "exclude", None) is not None:  # as in ruff: replaces the configured excludes
        settings.exclude = args.exclude
    if getattr(args, "extend_exclude", None):
        settings.extend_exclude = list(settings.extend_exclude) + args.extend_exclude
    if args.unsafe_fixes is not None:
        settings.unsafe_fixes = args.unsafe_fixes
    if getattr(args, "notebooks", None) is not None:
        settings.notebooks = args.notebooks
    return settings


def _use_color(args) -> bool:
    if args.color == "always":
        return True
    if args.color == "never" or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def _paths(args, settings: Settings):
    """With --force-exclude, exclude patterns also drop files named on the command line (pre-commit
    passes every staged file by name)."""
    if not getattr(args, "force_exclude", False):
        return args.paths
    from bnlint.source.discover import DEFAULT_EXCLUDE, is_excluded

    patterns = list(settings.exclude or DEFAULT_EXCLUDE) + list(settings.extend_exclude)
    return [p for p in args.paths
            if not is_excluded(os.path.relpath(os.path.abspath(p), os.path.abspath(settings.root)), patterns)]


def _add_noqa(diags) -> int:
    from bnlint.commands.noqa import add_noqa

    added, skipped = add_noqa(diags)
    for reason in skipped:
        print(f"bnlint: warning: no noqa added at {reason}", file=sys.stderr)
    print(f"Added {added} noqa directive{'s' if added != 1 else ''}.", file=sys.stderr)
    return EXIT_ERROR if any(": not written: " in reason for reason in skipped) else EXIT_CLEAN


def _report_diff(args, fixrun, settings: Settings) -> int:
    """--diff: the unified diff on stdout, a summary on stderr; exit 1 when something would change."""
    from bnlint.run import fixer

    changed = fixer.changed_files(fixrun)
    for _, diff in changed:
        sys.stdout.write(diff)
    if args.show_fixes:
        sys.stdout.write(fixer.show_fixes(fixrun))
    if not args.quiet:
        for line in fixer.fixed_summary(fixrun, verb="Would fix"):
            print(line, file=sys.stderr)
        hidden = fixer.hidden_unsafe(fixrun.result.diagnostics, settings)
        if hidden:
            print(f"{hidden} more fix{'es' if hidden != 1 else ''} available with --unsafe-fixes.", file=sys.stderr)
        if not changed:
            print("No fixes to apply.", file=sys.stderr)
    else:
        for f in fixrun.failures:
            print(f"bnlint: error: {f.path}: fixes not applied: {f.error}", file=sys.stderr)
    return EXIT_FINDINGS if changed or fixrun.failures else EXIT_CLEAN


def _report_fixes(args, fixrun, settings: Settings) -> None:
    """--fix: what was fixed (and with --show-fixes, each fix), failures, hidden unsafe fixes."""
    from bnlint.run import fixer

    if args.show_fixes:
        sys.stdout.write(fixer.show_fixes(fixrun))
    for line in fixer.fixed_summary(fixrun):
        if not args.quiet or line.startswith("bnlint: error"):
            print(line, file=sys.stderr)
    hidden = fixer.hidden_unsafe(fixrun.result.diagnostics, settings)
    if hidden and not args.quiet:
        print(f"{hidden} more fix{'es' if hidden != 1 else ''} available with --unsafe-fixes.", file=sys.stderr)


def run_options(args, settings: Settings) -> dict:
    """-j, the result cache (off with --no-cache) and the per-file time limit, for ``lint_paths``."""
    from bnlint.run.cache import cache_dir
    from bnlint.run.parallel import DEFAULT_TIMEOUT

    jobs = getattr(args, "jobs", None)
    timeout = getattr(args, "timeout", None)
    return {
        "jobs": jobs if jobs and jobs > 0 else None,
        "cache_dir": None if getattr(args, "no_cache", False) else cache_dir(settings),
        "timeout": DEFAULT_TIMEOUT if timeout is None else (timeout if timeout > 0 else None),
    }


def run(args) -> int:
    from bnlint.run.paths import lint_paths

    try:
        settings = settings_from_args(args)
    except ValueError as exc:  # broken configuration
        print(f"bnlint: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    result = lint_paths(_paths(args, settings), settings, **run_options(args, settings))
    if getattr(args, "add_noqa", False):
        return _add_noqa(result.diagnostics)
    fixrun = None
    if args.fix or args.diff:
        from bnlint.run import fixer

        fixrun = fixer.fix_result(result, settings, write=not args.diff)
        if args.diff:
            return _report_diff(args, fixrun, settings)
    diags = result.diagnostics
    errors = result.errors
    fmt = args.format or "text"
    formatter = FORMATTERS.get(fmt)
    if formatter is None:
        print(f"bnlint: error: output format {fmt!r} is not available", file=sys.stderr)
        return EXIT_ERROR
    shown = at_cells(sorted(errors + diags, key=lambda d: d.sort_key()), result.notebooks)
    out = formatter(shown, color=_use_color(args))
    sys.stdout.write(out)
    if args.statistics:
        sys.stdout.write(statistics(shown))
    if args.show_fixes and not args.fix and not args.diff:
        sys.stdout.write(render_available_fixes(at_cells(diags, result.notebooks), settings.unsafe_fixes))
    if fixrun is not None:
        _report_fixes(args, fixrun, settings)
    counted = [d for d in diags if d.severity != "info"]
    if fmt == "text" and not args.quiet:
        n = len(diags) + len(errors)  # unreadable files are findings too (ruff counts syntax errors)
        fixable = sum(1 for d in diags if d.fix is not None and d.fix.edits
                      and (d.fix.applicability == "safe" or settings.unsafe_fixes) and fixrun is None)
        summary = f"Found {n} finding{'s' if n != 1 else ''} in {result.files_seen} file{'s' if result.files_seen != 1 else ''}"
        if fixable:
            summary += f" ({fixable} fixable with --fix)"
        print(summary + "." if n else f"All checks passed ({result.files_seen} files).", file=sys.stderr)
    if errors:
        for e in at_cells(errors, result.notebooks):
            print(f"bnlint: error: {e.filename}{'' if e.cell is None else f':cell {e.cell}'}: {e.message}", file=sys.stderr)
    if fixrun is not None and fixrun.failures:  # --fix was asked for and some file could not be fixed
        return EXIT_ERROR
    if args.exit_zero:
        return EXIT_CLEAN
    if counted or errors:
        return EXIT_FINDINGS
    return EXIT_CLEAN

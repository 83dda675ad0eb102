"""``[tool.bnlint]`` in pyproject.toml: find it, check it strictly, turn it into ``Settings``.

The nearest pyproject.toml with a ``[tool.bnlint]`` table, walking up from the linted paths, wins
(a pyproject.toml without the table is passed over, as ruff does). Everything wrong in it - TOML
syntax, an unknown key, a wrong type, a code no rule has - is a ``ValueError`` whose message names the
file and the key; the CLI turns it into exit code 2.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from bnlint.core.settings import Settings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

CONFIG_FILE = "pyproject.toml"


def _check_codes(value: Any, where: str) -> List[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: expected a list of rule codes such as [\"BNL001\"], got {value!r}")
    codes = [v.strip().upper() for v in value]
    known = known_codes()
    for code in codes:
        if code != "ALL" and not any(k.startswith(code) for k in known):
            raise ValueError(f"{where}: unknown rule code {code!r} (known: {', '.join(sorted(known))})")
    return codes


def _check_strings(value: Any, where: str) -> List[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: expected a list of strings, got {value!r}")
    return list(value)


def _check_bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{where}: expected true or false, got {value!r}")
    return value


def _check_count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{where}: expected a non-negative integer, got {value!r}")
    return value


def _check_per_file(value: Any, where: str) -> Dict[str, List[str]]:
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected a table of glob = [codes], got {value!r}")
    return {pattern: _check_codes(codes, f"{where}.{pattern!r}") for pattern, codes in value.items()}


# TOML key -> (Settings attribute, checker). Command-line flags override every one of them.
KEYS: Dict[str, Tuple[str, Callable[[Any, str], Any]]] = {
    "select": ("select", _check_codes),
    "extend-select": ("extend_select", _check_codes),
    "ignore": ("ignore", _check_codes),
    "extend-ignore": ("ignore", _check_codes),
    "per-file-ignores": ("per_file_ignores", _check_per_file),
    "include": ("include", _check_strings),
    "extend-include": ("extend_include", _check_strings),
    "exclude": ("exclude", _check_strings),
    "extend-exclude": ("extend_exclude", _check_strings),
    "unsafe-fixes": ("unsafe_fixes", _check_bool),
}


def _threshold_keys() -> None:
    """Every other bool/int setting (small-batch, momentum-steps, later thresholds) is a key too."""
    from dataclasses import MISSING, fields

    from bnlint.core.settings import Settings

    mapped = {attr for attr, _ in KEYS.values()}
    for f in fields(Settings):
        if f.name in mapped or f.default is MISSING:
            continue
        if isinstance(f.default, bool):
            KEYS[f.name.replace("_", "-")] = (f.name, _check_bool)
        elif isinstance(f.default, int):
            KEYS[f.name.replace("_", "-")] = (f.name, _check_count)


_threshold_keys()


def known_codes() -> List[str]:
    from bnlint.core.codes import SPECIAL_CODES
    from bnlint.lint.registry import all_rules
    from bnlint.core.runtime_codes import RUNTIME_CODES  # `bnlint inspect` reads the same table

    return list(all_rules()) + list(SPECIAL_CODES) + list(RUNTIME_CODES)


def read_table(path: str) -> Optional[Dict[str, Any]]:
    """The ``[tool.bnlint]`` table of ``path`` (None when the file has none)."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read configuration: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: invalid TOML: not UTF-8 ({exc.reason})") from None
    tool = data.get("tool", {})
    table = tool.get("bnlint") if isinstance(tool, dict) else None
    if table is not None and not isinstance(table, dict):
        raise ValueError(f"{path}: tool.bnlint: expected a table, got {table!r}")
    return table


def settings_from_table(table: Dict[str, Any], path: str) -> Settings:
    settings = Settings(root=os.path.dirname(os.path.abspath(path)), config_path=path)
    for key, value in table.items():
        if key not in KEYS:
            hint = f"; did you mean {key.replace('_', '-')!r}?" if key.replace("_", "-") in KEYS else ""
            raise ValueError(f"{path}: tool.bnlint: unknown key {key!r}{hint} (known: {', '.join(KEYS)})")
        attr, check = KEYS[key]
        checked = check(value, f"{path}: tool.bnlint.{key}")
        if key == "extend-ignore":
            checked = list(settings.ignore) + checked
        elif key == "ignore":
            checked = checked + list(settings.ignore)
        setattr(settings, attr, checked)
    return settings


def find_config(paths: Sequence[str]) -> Optional[str]:
    """The nearest pyproject.toml with ``[tool.bnlint]`` above the first path that has one."""
    for start in paths or ["."]:
        here = os.path.abspath(start)
        if not os.path.isdir(here):
            here = os.path.dirname(here)
        while True:
            candidate = os.path.join(here, CONFIG_FILE)
            if os.path.isfile(candidate) and read_table(candidate) is not None:
                return candidate
            parent = os.path.dirname(here)
            if parent == here:
                break
            here = parent
    return None


def load_settings(paths: Sequence[str], config_path: Optional[str] = None) -> Settings:
    """Settings from ``config_path`` when given, else from the nearest configuration; defaults if none."""
    if config_path is not None:
        if not os.path.isfile(config_path):
            raise ValueError(f"{config_path}: configuration file not found")
        path: Optional[str] = config_path
    else:
        path = find_config(paths)
    if path is None:
        return Settings()
    return settings_from_table(read_table(path) or {}, path)

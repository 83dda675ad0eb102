"""Fetch the real-code corpus: download each pinned project of projects.txt and unpack it.

    python benchmarks/corpus/fetch.py [--cache DIR] [--only NAME ...] [--python PY]

The cache lives outside the repo (default /root/.cache/bnlint-corpus, or $BNLINT_CORPUS_CACHE);
each project is unpacked into <cache>/src/<name>-<version>/. Projects already unpacked are
skipped, so a second run does no network work. The sdist is preferred (it often carries the
examples/ and training scripts a wheel leaves out): `pip download --no-deps --no-binary :all:`;
when pip fails (an old sdist whose metadata no longer builds), the pinned sdist is taken from
PyPI's JSON API (the release API, else the simple index's JSON form) and checked against its
sha256; a release without an sdist falls back to the wheel pip picks. `name @ installed`
copies the .py sources of the package installed in the venv (its version read from there).
When every project is there, <cache>/READY is touched. Exit code 1 when any project failed.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_CACHE = Path("/root/.cache/bnlint-corpus")
LINE = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)\s*(?:==\s*(?P<version>\S+)|@\s*(?P<installed>installed))\s*(?:#.*)?$")


@dataclass(frozen=True)
class Project:
    name: str
    version: str | None  # None: "@ installed", resolved at fetch time
    why: str

    @property
    def installed(self) -> bool:
        return self.version is None


def read_projects(path: Path = HERE / "projects.txt") -> list[Project]:
    projects = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        match = LINE.match(text)
        if not match:
            raise SystemExit(f"{path}:{number}: cannot read {raw!r} (want `name==version  # why`)")
        why = raw.split("#", 1)[1].strip() if "#" in raw else ""
        projects.append(Project(match["name"], match["version"], why))
    return projects


def cache_dir(arg: str | None) -> Path:
    return Path(arg or os.environ.get("BNLINT_CORPUS_CACHE") or DEFAULT_CACHE)


def default_python() -> str:
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _pip_download(project: Project, into: Path, *options: str) -> Path:
    """The file pip picks for name==version (no deps); raises with pip's last lines on failure."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check",
         *options, "-d", str(into), f"{project.name}=={project.version}"],
        capture_output=True, text=True)
    files = [p for p in into.iterdir() if p.is_file()]
    if proc.returncode != 0 or not files:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise RuntimeError(f"pip download failed: {tail}")
    return files[0]


def _release_files(project: Project) -> list[dict]:
    """[{filename, url, sha256}] of the pinned release: PyPI's release JSON, else the simple index
    JSON (PEP 691; some mirrors serve only that)."""
    try:
        url = f"https://pypi.org/pypi/{project.name}/{project.version}/json"
        with urllib.request.urlopen(url, timeout=60) as response:
            release = json.load(response)
        return [{"filename": f["filename"], "url": f["url"], "sha256": f.get("digests", {}).get("sha256")}
                for f in release.get("urls") or []]
    except urllib.error.HTTPError:
        pass
    request = urllib.request.Request(f"https://pypi.org/simple/{project.name}/",
                                     headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        index = json.load(response)

    def norm(text: str) -> str:
        return re.sub(r"[-_.]+", "-", text).lower()

    want = norm(f"{project.name}-{project.version}")

    def of_release(filename: str) -> bool:
        stem = re.sub(r"(\.tar\.gz|\.tgz|\.zip|\.tar\.bz2)$", "", filename)
        if filename.endswith(".whl"):
            stem = "-".join(filename.split("-")[:2])
        return stem != filename and norm(stem) == want

    return [{"filename": f["filename"], "url": f["url"], "sha256": f.get("hashes", {}).get("sha256")}
            for f in index.get("files", []) if of_release(f["filename"]) and not f.get("yanked")]


def _pypi_download(project: Project, into: Path) -> Path:
    """The pinned release's sdist (else a py3 wheel, else any wheel), sha256-checked."""
    def rank(entry):
        name = entry["filename"]
        if not name.endswith(".whl"):
            return 0
        return 1 if name.endswith("py3-none-any.whl") else 2 if name.endswith("none-any.whl") else 3

    candidates = sorted(_release_files(project), key=rank)
    if not candidates:
        raise RuntimeError(f"no sdist or wheel listed for {project.name}=={project.version}")
    entry = candidates[0]
    target = into / entry["filename"]
    with urllib.request.urlopen(entry["url"], timeout=300) as response, open(target, "wb") as out:
        shutil.copyfileobj(response, out)
    if entry["sha256"] and hashlib.sha256(target.read_bytes()).hexdigest() != entry["sha256"]:
        target.unlink()
        raise RuntimeError(f"sha256 mismatch for {entry['filename']}")
    return target


def _unpack(archive: Path, dest: Path) -> None:
    """Unpack a wheel/zip/tarball into dest, dropping an sdist's single top-level folder."""
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=".unpack-"))
    try:
        name = archive.name
        if name.endswith((".whl", ".zip", ".egg")):
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(staging)
        elif name.endswith((".tar.gz", ".tgz", ".tar.bz2", ".tar")):
            with tarfile.open(archive) as tf:
                tf.extractall(staging, filter="data") if hasattr(tarfile, "data_filter") else tf.extractall(staging)
        else:
            raise RuntimeError(f"unknown archive type: {name}")
        entries = list(staging.iterdir())
        root = entries[0] if len(entries) == 1 and entries[0].is_dir() and not name.endswith(".whl") else staging
        shutil.move(str(root), str(dest))  # dest appears whole or not at all
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _installed(project: Project, python: str) -> tuple[str, Path]:
    """Version and package folder of an installed package, without importing it."""
    code = ("import importlib.metadata as m, importlib.util as u, json, sys; n = sys.argv[1]; "
            "s = u.find_spec(n); print(json.dumps([m.version(n), list(s.submodule_search_locations)[0]]))")
    proc = subprocess.run([python, "-c", code, project.name], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{project.name} is not installed in {python}: {proc.stderr.strip().splitlines()[-1:]}")
    version, location = json.loads(proc.stdout)
    return version, Path(location)


def _copy_sources(package: Path, dest: Path) -> None:
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=".copy-"))
    try:
        for path in package.rglob("*.py"):
            if "__pycache__" in path.parts:
                continue
            target = staging / package.name / path.relative_to(package)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        shutil.move(str(staging), str(dest))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _download(project: Project, into: Path) -> tuple[Path, str]:
    """sdist by pip, else from the index's JSON (sdist first), else the wheel pip picks."""
    problems = []
    for how, get in (("pip sdist", lambda: _pip_download(project, into, "--no-binary", ":all:")),
                     ("PyPI JSON", lambda: _pypi_download(project, into)),
                     ("pip", lambda: _pip_download(project, into))):
        try:
            return get(), how
        except Exception as error:
            problems.append(f"{how}: {error}")
            for leftover in into.iterdir():
                leftover.unlink()
    raise RuntimeError("; ".join(problems))


def fetch(project: Project, cache: Path, python: str) -> tuple[str, str]:
    """(status, detail) for one project; status is 'have', 'fetched' or 'FAILED'."""
    src = cache / "src"
    src.mkdir(parents=True, exist_ok=True)
    try:
        if project.installed:
            version, package = _installed(project, python)
            dest = src / f"{project.name}-{version}"
            if dest.exists():
                return "have", str(dest)
            _copy_sources(package, dest)
            return "fetched", f"{dest} (copied from {package})"
        dest = src / f"{project.name}-{project.version}"
        if dest.exists():
            return "have", str(dest)
        downloads = cache / "downloads" / f"{project.name}-{project.version}"
        downloads.mkdir(parents=True, exist_ok=True)
        existing = [p for p in downloads.iterdir() if p.is_file()]
        how = "cached"
        if existing:
            archive = existing[0]
        else:
            archive, how = _download(project, downloads)
        _unpack(archive, dest)
        return "fetched", f"{dest} ({archive.name} via {how})"
    except Exception as error:  # one project failing never stops the others
        return "FAILED", f"{type(error).__name__}: {error}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", help=f"cache folder (default $BNLINT_CORPUS_CACHE or {DEFAULT_CACHE})")
    parser.add_argument("--only", nargs="*", help="fetch only these project names")
    parser.add_argument("--python", default=default_python(),
                        help="interpreter whose installed packages '@ installed' copies")
    args = parser.parse_args(argv)
    cache = cache_dir(args.cache)
    projects = [p for p in read_projects() if not args.only or p.name in args.only]
    failed = 0
    for project in projects:
        status, detail = fetch(project, cache, args.python)
        label = f"{project.name}=={project.version}" if project.version else f"{project.name} @ installed"
        print(f"{status:8} {label:32} {detail}", flush=True)
        failed += status == "FAILED"
    if failed:
        print(f"{failed} of {len(projects)} projects failed; READY not written", file=sys.stderr)
        return 1
    if not args.only:
        (cache / "READY").touch()
        print(f"corpus ready: {cache / 'src'} ({len(projects)} projects)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

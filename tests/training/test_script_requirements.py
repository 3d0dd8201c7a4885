"""Every script the README runs works after the README's set-up (`scripts/start.sh`, which installs
requirements.txt only): each third-party module the scripts import, directly or through the
project's own modules they import, is installed by requirements.txt (pinned there, or a dependency
of a pinned distribution, such as Django's asgiref)."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

from packaging.requirements import Requirement

from tests.support import ROOT

SCRIPTS = ROOT / "scripts"


def _local_file(module: str) -> Path | None:
    """The project file `module` names (scripts/ is on sys.path when a script runs), if any."""
    parts = module.split(".")
    for base in (SCRIPTS, ROOT):
        for candidate in (base.joinpath(*parts).with_suffix(".py"), base.joinpath(*parts)):
            if candidate.is_dir():
                candidate = candidate / "__init__.py"
            if candidate.is_file():
                return candidate
    return None


def _is_local(module: str) -> bool:
    return _local_file(module.split(".")[0]) is not None


def _imports(path: Path) -> set[str]:
    """Absolute module names imported anywhere in `path`, lazy imports inside functions included."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            # `from package import module` may name a submodule.
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def third_party_imports(files: list[Path]) -> dict[str, set[str]]:
    """Top-level third-party module -> the project files importing it, following the project's
    own modules that the files import (a script fails on their imports too)."""
    found: dict[str, set[str]] = {}
    seen: set[Path] = set()
    queue = list(files)
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in _imports(path):
            top = module.split(".")[0]
            if top == "__future__" or top in sys.stdlib_module_names:
                continue
            if _is_local(top):
                local = _local_file(module)
                if local is not None:
                    queue.append(local)
                continue
            found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_by(requirements: Path) -> set[str]:
    """Canonical names of the distributions `pip install -r requirements` installs: its pins with
    their extras, and their dependencies, transitively (as installed here: versions may differ,
    names do not)."""
    wanted: list[tuple[str, frozenset[str]]] = []
    files = [requirements]
    while files:
        for raw in files.pop().read_text(encoding="utf-8").splitlines():
            line = raw.split("#", 1)[0].strip()
            if line.startswith("-r "):  # an included file, relative to this one
                files.append(requirements.parent / line[3:].strip())
            elif line and not line.startswith("-"):
                pin = Requirement(line)
                wanted.append((pin.name, frozenset(pin.extras)))
    names: set[str] = set()
    while wanted:
        name, extras = wanted.pop()
        if _canonical(name) in names:
            continue
        names.add(_canonical(name))
        try:
            dependencies = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue  # pinned but not installed here: the comparison below reports its modules
        for text in dependencies:
            dependency = Requirement(text)
            marker = dependency.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in extras or {""}):
                wanted.append((dependency.name, frozenset(dependency.extras)))
    return names


# A script that drives a browser (Playwright) says so with this line, and the README tells its
# reader to install requirements-dev.txt first; the others must run on requirements.txt alone.
DEV_MARK = "# needs: requirements-dev.txt"


def _needs_dev(script: Path) -> bool:
    return DEV_MARK in script.read_text(encoding="utf-8")


def _missing(scripts: list[Path], requirements: Path) -> list[str]:
    imported = third_party_imports(scripts)
    distributions = importlib.metadata.packages_distributions()
    installed = installed_by(requirements)
    missing = []
    for module, importers in sorted(imported.items()):
        owners = {_canonical(d) for d in distributions.get(module, [])}
        if not owners & installed:
            owner = ", ".join(sorted(owners)) or "not installed at all"
            missing.append(f"{module} ({owner}), imported by {', '.join(sorted(importers))}")
    return missing


def test_requirements_txt_covers_every_import_of_the_scripts():
    scripts = sorted(SCRIPTS.glob("*.py"))
    assert scripts, "no scripts found"
    light = [script for script in scripts if not _needs_dev(script)]
    # Sanity: the walk sees the imports this test was written for.
    assert {"httpx", "websockets", "faster_whisper", "django"} <= third_party_imports(light).keys()
    missing = _missing(light, ROOT / "requirements.txt")
    assert not missing, "requirements.txt does not install:\n" + "\n".join(missing)


def test_requirements_dev_covers_the_scripts_that_say_they_need_it():
    heavy = [script for script in sorted(SCRIPTS.glob("*.py")) if _needs_dev(script)]
    assert "playwright" in third_party_imports(heavy)  # the browser benchmarks are among them
    missing = _missing(heavy, ROOT / "requirements-dev.txt")
    assert not missing, "requirements-dev.txt does not install:\n" + "\n".join(missing)

"""The apps' dependencies flow one way (docs/architecture.md): a lower app never imports a higher one.

``pacte ← contrats ← actions ← financement ← espace ← demo`` (demo's benches measure the pages too):
every import statement of every module of an app (migrations included) is read with ``ast`` and
checked against that order; nothing imports demo.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ORDER = {"pacte": 0, "contrats": 1, "actions": 2, "financement": 3, "espace": 4, "demo": 5}


def imported_apps(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & ORDER.keys()


@pytest.mark.parametrize("app", sorted(ORDER))
def test_an_app_imports_only_the_apps_below_it(app):
    wrong = []
    for path in sorted((ROOT / app).rglob("*.py")):
        for other in imported_apps(path):
            if other != app and ORDER[other] >= ORDER[app]:
                wrong.append(f"{path.relative_to(ROOT)} importe {other}")
    assert not wrong, "\n".join(wrong)


def test_the_check_reads_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import financement.models\nfrom espace.lookups import x\nfrom . import y\nimport os\n")
    assert imported_apps(module) == {"financement", "espace"}

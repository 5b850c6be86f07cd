"""Layers point one way: read every module's imports (lazy ones included) from its source.

The README's flow is timeline -> jobs -> decode -> estimator -> results ->
annotation and reports, and the attention estimator uses the model. A lazy
import inside a function is still a dependency, so the imports are read with
``ast`` rather than from ``sys.modules``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "otio_avsync"


def _name(path: Path) -> str:
    parts = ["otio_avsync", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(name: str) -> set[str]:
    """The package's modules (or packages) that ``name`` imports anywhere in its source."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


def _unit(name: str) -> str | None:
    """The layer a module belongs to: its top-level module or subpackage (None: the root)."""
    parts = name.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else None


def _inside(name: str, unit: str) -> bool:
    return name == unit or name.startswith(unit + ".")


def test_the_model_never_imports_the_estimators() -> None:
    """The estimator uses the model; the model's training and calibration do not use it back."""
    offenders = {
        (m, dep)
        for m in MODULES
        if _inside(m, "otio_avsync.model")
        for dep in _imports(m)
        if _inside(dep, "otio_avsync.estimators")
    }
    assert not offenders, offenders


def test_the_span_and_result_types_import_nothing_above_them() -> None:
    """``spans`` and ``results`` sit below every estimator and the model; below them only
    the metadata rules and the file writers, which import nothing of the package."""
    assert _imports("otio_avsync.metadata") == set()
    assert _imports("otio_avsync.files") <= {"otio_avsync.errors"}
    assert _imports("otio_avsync.results") <= {"otio_avsync.metadata"}
    assert _imports("otio_avsync.spans") <= {"otio_avsync.results"}


@pytest.mark.parametrize("lower", ["otio_avsync.estimators", "otio_avsync.model"])
def test_estimators_and_model_do_not_import_the_pipeline_above_them(lower: str) -> None:
    above = {
        "otio_avsync.annotate",
        "otio_avsync.audit",
        "otio_avsync.cli",
        "otio_avsync.consensus",
        "otio_avsync.dubbing",
        "otio_avsync.fix",
        "otio_avsync.jobs",
        "otio_avsync.plugin",
        "otio_avsync.plugin_manifest",
        "otio_avsync.render",
        "otio_avsync.report",
        "otio_avsync.single",
        "otio_avsync.ui",
    }
    offenders = {
        (m, dep)
        for m in MODULES
        if _inside(m, lower)
        for dep in _imports(m)
        if any(_inside(dep, a) for a in above)
    }
    assert not offenders, offenders


def test_no_two_layers_import_each_other() -> None:
    """Collapsed to top-level modules and subpackages, the import graph has no cycle."""
    graph: dict[str, set[str]] = {}
    for m in MODULES:
        unit = _unit(m)
        if unit is None:
            continue
        deps = {_unit(d) for d in _imports(m)}
        graph.setdefault(unit, set()).update(d for d in deps if d and d != unit)

    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, cycles


def test_the_reader_sees_lazy_imports() -> None:
    """The checks above would pass vacuously if function-level imports were missed."""
    assert "otio_avsync.model.scan" in _imports("otio_avsync.model.train")  # inside calibrate()
    assert "otio_avsync.model.weights" in _imports("otio_avsync.model.scan")  # inside __init__


def test_one_rule_for_each_piece_of_metadata() -> None:
    """The sound's key, numbers and plain copies are read one way by every reader."""
    from otio_avsync import fix, report, report_html
    from otio_avsync.metadata import finite, plain, sound_key
    from otio_avsync.results import AudioSource
    from otio_avsync.ui import model

    src = AudioSource(kind="embedded", stream_index=2, language="fra", track=None)
    assert src.key() == sound_key(src.__dict__) == "stream:fra"
    assert model._sound_fields(src.__dict__)[1] == src.key()
    assert AudioSource(kind="track", track="A2 DUB").key() == "A2 DUB"
    assert finite(True) is None and finite("1.5") == 1.5 and finite(float("nan")) is None
    for module in (fix, report, report_html, model):  # no private copies left behind
        assert not any(hasattr(module, n) for n in ("_num", "_plain", "_sound_key"))
    assert fix.finite is finite and report.plain is plain and model.finite is finite

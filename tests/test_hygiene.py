"""The suite's own hygiene: nothing written to the system temp folder, and the benchmarks still import."""

import ast
import functools
import importlib
import os
import re
import sys
import tempfile
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def conftest_module():
    return sys.modules["tests.conftest"]


def test_temporary_files_go_under_the_repository(tmp_path):
    test_tmp = ROOT / ".test-tmp"
    assert Path(tempfile.gettempdir()).resolve().is_relative_to(test_tmp)
    assert Path(os.environ["GRADIO_TEMP_DIR"]).resolve().is_relative_to(test_tmp)
    assert tmp_path.resolve().is_relative_to(test_tmp)
    assert ".test-tmp" in (ROOT / ".gitignore").read_text()


def test_a_write_to_the_system_temp_folder_is_caught(tmp_path, monkeypatch):
    """The audit hook sees real mkdir/open/rename calls (here into a stand-in system temp folder)."""
    conftest = conftest_module()
    monkeypatch.setattr(conftest, "_SYSTEM_TEMP", conftest._SYSTEM_TEMP | {str(tmp_path / "system")})
    monkeypatch.setattr(conftest, "_OURS", [])  # tmp_path itself lies under .test-tmp, which is ours
    before = len(conftest.SYSTEM_TEMP_WRITES)
    try:
        (tmp_path / "system").mkdir()
        (tmp_path / "system" / ("ab" * 20)).mkdir()
        (tmp_path / "system" / "note.txt").write_text("x")
        (tmp_path / "system" / "note.txt").read_text()  # reading is not writing
        tempfile.mkdtemp(dir=tmp_path / "system")
        seen = conftest.SYSTEM_TEMP_WRITES[before:]
    finally:
        del conftest.SYSTEM_TEMP_WRITES[before:]  # these were on purpose: do not fail the session
    assert [event for event, _ in seen] == ["os.mkdir", "open", "os.mkdir"]
    assert seen[0][1].endswith("ab" * 20) and seen[1][1].endswith("note.txt")
    assert conftest.system_temp_target("open", (str(tmp_path / "x"), "r", 0)) is None


# --- the benchmarks import the package inside functions: a move must fail here, not in the next benchmark run

def _benchmark_sources() -> list[Path]:
    return sorted((ROOT / "benchmarks").rglob("*.py"))


MODULE_NAME = re.compile(r"^transcribe_studio(\.[A-Za-z_]\w*)+$")


def _resolve(module_name: str, attribute: str | None = None):
    """The module, or its attribute (a submodule its package does not import counts too)."""
    module = importlib.import_module(module_name)
    if attribute is None:
        return module
    if hasattr(module, attribute):
        return getattr(module, attribute)
    try:
        return importlib.import_module(f"{module_name}.{attribute}")
    except ModuleNotFoundError:
        raise AttributeError(f"{module_name} has no {attribute}") from None


def _walk_own(scope: ast.AST):
    """The nodes of ``scope`` itself, not those of the functions defined in it (each is its own scope)."""
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            todo.extend(ast.iter_child_nodes(node))


def _package_references(tree: ast.AST):
    """(line, name, resolve) for every transcribe_studio name a benchmark file uses.

    ``from transcribe_studio.x import y``, ``import transcribe_studio.x``, module names in
    strings (``importlib.import_module("transcribe_studio.x")``; not ``startswith`` prefixes),
    and ``alias.attr`` where ``alias`` is a package module imported in the same function.
    ``resolve()`` raises ImportError or AttributeError when the name is gone.
    """
    prefixes = {id(arg) for node in ast.walk(tree)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "startswith"
                for arg in ast.walk(node)}
    scopes = [tree] + [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    for scope in scopes:
        aliases = {}  # alias -> (module, attribute) imported in this scope
        for node in _walk_own(scope):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "transcribe_studio":
                for alias in node.names:
                    yield node.lineno, f"{node.module}.{alias.name}", functools.partial(_resolve, node.module, alias.name)
                    aliases[alias.asname or alias.name] = (node.module, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "transcribe_studio":
                        yield node.lineno, alias.name, functools.partial(_resolve, alias.name)
            elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
                  and MODULE_NAME.match(node.value) and id(node) not in prefixes):
                yield node.lineno, node.value, functools.partial(_resolve, node.value)
        for node in ast.walk(scope):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                def attribute(imported=aliases[node.value.id], name=node.attr):
                    value = _resolve(*imported)
                    if isinstance(value, types.ModuleType):
                        return getattr(value, name)  # a module's attribute; other objects are not checked
                    return value
                yield node.lineno, f"{node.value.id}.{node.attr}", attribute


@pytest.mark.parametrize("source", _benchmark_sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_package_name_the_benchmarks_use_exists(source):
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    missing = []
    for line, name, resolve in _package_references(tree):
        try:
            resolve()
        except (ImportError, AttributeError) as exc:
            missing.append(f"line {line}: {name} ({exc})")
    assert not missing, f"{source.relative_to(ROOT)} uses names the package no longer has:\n" + "\n".join(missing)


def test_the_benchmarks_use_the_package_at_all():
    """Guards the test above against checking nothing (a renamed package, a moved folder)."""
    names = {name for source in _benchmark_sources()
             for _, name, _ in _package_references(ast.parse(source.read_text(encoding="utf-8")))}
    assert {"transcribe_studio.transcription.engine", "transcribe_studio.models.get", "batch.transcribe_file",
            "long_audio.plan", "transcribe_studio.transcription.batch"} <= names, names

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


def _writes_into(folder: Path) -> None:
    """Real mkdir/open/rename calls in ``folder``, and a read, which is not a write."""
    folder.mkdir()
    (folder / ("ab" * 20)).mkdir()
    (folder / "note.txt").write_text("x")
    (folder / "note.txt").read_text()  # reading is not writing
    tempfile.mkdtemp(dir=folder)


def _recorded(record: list, action) -> list[tuple[str, str]]:
    """What the audit hook adds to ``record`` while ``action()`` runs; taken out again, as these writes are on
    purpose and must not fail the session."""
    before = len(record)
    try:
        action()
        return record[before:]
    finally:
        del record[before:]


def test_a_write_to_the_system_temp_folder_is_caught(tmp_path, monkeypatch):
    """The audit hook sees real mkdir/open/rename calls (here into a stand-in system temp folder).

    The stand-in lies inside ``.test-tmp/``, which is ours: the innermost folder decides, so it counts as system
    temp all the same (as ``.test-tmp/`` of a checkout cloned under ``/tmp`` counts as ours)."""
    conftest = conftest_module()
    monkeypatch.setattr(conftest, "_SYSTEM_TEMP", conftest._SYSTEM_TEMP | {str(tmp_path / "system")})
    seen = _recorded(conftest.SYSTEM_TEMP_WRITES, lambda: _writes_into(tmp_path / "system"))
    assert [event for event, _ in seen] == ["os.mkdir", "open", "os.mkdir"]
    assert seen[0][1].endswith("ab" * 20) and seen[1][1].endswith("note.txt")
    assert conftest.system_temp_target("open", (str(tmp_path / "x"), "r", 0)) is None
    assert conftest.system_temp_target("open", (str(tmp_path / "system" / "x"), "r", 0)) is None


def test_the_audit_works_from_a_checkout_under_the_system_temp_folder(tmp_path, monkeypatch):
    """A user who clones into /tmp: the checkout's own .test-tmp/ (and __pycache__, .venv) are still ours, its
    outputs/ still the checkout's, and the rest of /tmp still the system temp folder. (A stand-in layout: this
    test must not write to the real /tmp; `git clone` into /tmp and running the suite there is the real check.)"""
    conftest = conftest_module()
    system, clone = tmp_path / "tmp", tmp_path / "tmp" / "studio-clone"
    for folder in (clone / ".test-tmp" / "tmp", clone / "tests" / "__pycache__", clone / ".venv" / "lib"):
        folder.mkdir(parents=True)
    monkeypatch.setattr(conftest, "_SYSTEM_TEMP", {str(system)})
    monkeypatch.setattr(conftest, "_CHECKOUT", str(clone))
    monkeypatch.setattr(conftest, "_OURS", [str(clone / ".test-tmp" / "tmp"), str(clone / ".test-tmp")])

    def ours():
        clone.mkdir(exist_ok=True)  # pytest does, for its cache: a folder that is there is not made again
        os.makedirs(clone / ".test-tmp" / "tmp", exist_ok=True)
        _writes_into(clone / ".test-tmp" / "tmp" / "pytest-0")
        (clone / "tests" / "__pycache__" / "conftest.cpython-312.pyc").write_bytes(b"")
        (clone / ".venv" / "lib" / "site.py").write_text("")
        made = Path(tempfile.mkdtemp(prefix="pytest-cache-files-", dir=clone))  # as pytest makes its cache
        (made / "README.md").write_text("")
        made.rename(clone / ".pytest_cache")
        (clone / ".pytest_cache" / "v").mkdir()
        (clone / ".pytest_cache" / "v" / "lastfailed").write_text("{}")
    system_temp_writes = []
    checkout_writes = _recorded(conftest.CHECKOUT_WRITES,
                                lambda: system_temp_writes.extend(_recorded(conftest.SYSTEM_TEMP_WRITES, ours)))
    assert system_temp_writes == [] and checkout_writes == []

    outputs = _recorded(conftest.CHECKOUT_WRITES, lambda: _writes_into(clone / "outputs"))
    assert [event for event, _ in outputs] == ["os.mkdir", "os.mkdir", "open", "os.mkdir"]
    elsewhere = _recorded(conftest.SYSTEM_TEMP_WRITES, lambda: _writes_into(system / "other"))
    assert [event for event, _ in elsewhere] == ["os.mkdir", "os.mkdir", "open", "os.mkdir"]
    assert conftest.write_place(system / "other" / "x") == conftest.SYSTEM_TEMP
    assert conftest.write_place(clone / "outputs" / "x") == conftest.CHECKOUT
    assert conftest.write_place(clone / ".test-tmp" / "x") is None


def test_a_write_into_the_checkouts_outputs_is_caught(tmp_path, monkeypatch):
    """Writes into the checkout outside .test-tmp/ fail the session: outputs/, logs/, local_models/, the sources;
    deleting there too (an app's startup clean-up of outputs/). Checked on a stand-in checkout, so the real
    outputs/ is not touched; the real checkout's folders are classified the same way."""
    conftest = conftest_module()
    for name in ("outputs", "logs", "local_models"):
        assert conftest.checkout_target("open", (str(ROOT / name / "x.txt"), "w", 0)) == str(ROOT / name / "x.txt")
    assert conftest.checkout_target("os.remove", (str(ROOT / "outputs" / "x.txt"), None)) is not None
    assert conftest.checkout_target("open", (str(ROOT / "README.md"), "a", 0)) is not None
    assert conftest.checkout_target("open", (str(ROOT / "outputs" / "x.txt"), "r", 0)) is None
    for allowed in (".test-tmp/tmp/x", "tests/__pycache__/x.pyc", ".pytest_cache/v/x", ".venv/lib/x.py",
                    "pytest-cache-files-1kgx7bz3/README.md"):  # pytest makes its cache there, then renames it
        assert conftest.checkout_target("open", (str(ROOT / allowed), "w", 0)) is None, allowed

    checkout = tmp_path / "checkout"
    checkout.mkdir()
    monkeypatch.setattr(conftest, "_CHECKOUT", str(checkout))
    outputs = checkout / "outputs"

    def app_like():
        _writes_into(outputs)
        (outputs / "note.txt").rename(outputs / "kept.txt")
        (outputs / "kept.txt").unlink()
        import shutil
        shutil.rmtree(outputs / ("ab" * 20))

    seen = _recorded(conftest.CHECKOUT_WRITES, app_like)
    assert [event for event, _ in seen] == ["os.mkdir", "os.mkdir", "open", "os.mkdir", "os.rename", "os.rename",
                                            "os.remove", "shutil.rmtree", "os.rmdir"]
    assert {path for _, path in seen} >= {str(outputs), str(outputs / "note.txt"), str(outputs / "kept.txt")}


def test_what_a_subprocess_writes_into_the_checkout_is_caught_by_the_listing(tmp_path, monkeypatch):
    """The hook sees this process only: the checkout's outputs/, logs/ and local_models/ are also listed at the
    start of the session and compared at its end."""
    import subprocess

    conftest = conftest_module()
    checkout = tmp_path / "checkout"
    (checkout / "outputs" / "kept").mkdir(parents=True)
    (checkout / "outputs" / "kept" / "talk.txt").write_text("the developer's")
    (checkout / "logs").mkdir()
    (checkout / "logs" / "studio.log").write_text("a line\n")
    monkeypatch.setattr(conftest, "_CHECKOUT", str(checkout))
    before = conftest.checkout_listing()
    assert conftest.listing_changes(before, conftest.checkout_listing()) == []
    script = ("import os, shutil; os.makedirs('outputs/history/run'); open('outputs/history/run/a.txt', 'w');"
              "open('logs/studio.log', 'a').write('more\\n'); shutil.rmtree('outputs/kept')")
    subprocess.run([sys.executable, "-c", script], cwd=checkout, check=True, timeout=60)
    changes = conftest.listing_changes(before, conftest.checkout_listing())
    assert changes == [("changed during the run", str(checkout / "logs" / "studio.log")),
                       ("appeared during the run", str(checkout / "outputs" / "history")),
                       ("appeared during the run", str(checkout / "outputs" / "history" / "run")),
                       ("appeared during the run", str(checkout / "outputs" / "history" / "run" / "a.txt")),
                       ("went during the run", str(checkout / "outputs" / "kept")),
                       ("went during the run", str(checkout / "outputs" / "kept" / "talk.txt"))]


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

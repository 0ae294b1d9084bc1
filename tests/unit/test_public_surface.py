"""The package's public surface is declared: every public module lists its names in ``__all__``.

A module is public when no part of its dotted path starts with an underscore. Checked on the source (no
import), so modules whose optional dependencies are absent are checked too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "airflow_provider_celigo"


def public_modules() -> list[Path]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not any(part.startswith("_") for part in parts):
            found.append(path)
    return found


def module_level(tree: ast.Module) -> list[ast.AST]:
    """Return the module's statements and what they contain, but nothing inside a function or class body."""
    found: list[ast.AST] = []
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        found.append(node)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            pending.extend(ast.iter_child_nodes(node))
    return found


def top_level_names(tree: ast.Module) -> set[str]:
    """Return every name a module binds at its top level (definitions, assignments, imports), in any branch."""
    names: set[str] = set()
    for node in module_level(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def declared(tree: ast.Module) -> list[str] | None:
    """Return the names of ``__all__`` (assignments and ``+=`` alike), or None when the module has none."""
    found: list[str] | None = None
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        if any(isinstance(target, ast.Name) and target.id == "__all__" for target in targets):
            value = node.value
            assert isinstance(value, (ast.List, ast.Tuple)), "__all__ must be a literal list"
            found = (found or []) + [ast.literal_eval(item) for item in value.elts]
    return found


def has_definitions(tree: ast.Module) -> bool:
    return any(not isinstance(node, (ast.Expr, ast.ImportFrom, ast.Import)) for node in tree.body)


@pytest.mark.parametrize("path", public_modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_a_public_module_declares_its_names(path: Path) -> None:
    tree = ast.parse(path.read_text())
    names = declared(tree)
    if names is None:
        assert not has_definitions(tree), f"{path.relative_to(PACKAGE)} defines names but has no __all__"
        return
    assert len(names) == len(set(names)), f"a name is listed twice in {path.name}'s __all__"
    missing = set(names) - top_level_names(tree)
    assert not missing, f"{path.relative_to(PACKAGE)} lists names it does not bind: {sorted(missing)}"


def test_the_check_sees_public_and_private_modules_apart() -> None:
    modules = {path.relative_to(PACKAGE).as_posix() for path in public_modules()}
    assert "hooks/celigo.py" in modules and "testing/emulator/server.py" in modules
    assert not {"_compat.py", "hooks/_resources.py", "hooks/_transport/retry.py"} & modules


def test_the_package_root_offers_what_it_lists_and_loads_each_name_from_its_module() -> None:
    import importlib

    import airflow_provider_celigo as root

    public = root._PUBLIC
    assert set(root.__all__) == set(public) | {"__version__"}
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    typed = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for child in node.body
        if isinstance(child, ast.ImportFrom)
        for alias in child.names
    }
    assert typed == set(public), "the TYPE_CHECKING imports must name exactly the lazily loaded names"
    for name, module in public.items():
        assert getattr(root, name) is getattr(importlib.import_module(module), name), name
        assert name in importlib.import_module(module).__all__, f"{name} is not in {module}.__all__"


def test_every_error_the_provider_raises_to_users_is_offered_by_the_root() -> None:
    import airflow_provider_celigo as root
    from airflow_provider_celigo import exceptions
    from airflow_provider_celigo.sensors import errors

    celigo_errors = {name for name in [*exceptions.__all__, *errors.__all__] if name.startswith("Celigo")}
    celigo_errors = {name for name in celigo_errors if name.endswith(("Error", "Exceeded"))}
    assert celigo_errors <= set(root.__all__)

"""What a module imports, read from its source (the models' purity tests share it)."""

from __future__ import annotations

import ast
from pathlib import Path
from types import ModuleType


def imports_of(module: ModuleType | Path) -> set[str]:
    """The dotted names ``module`` imports (``import a.b`` gives ``a.b``; ``from a import b``
    gives ``a``)."""
    path = module if isinstance(module, Path) else Path(str(module.__file__))
    tree = ast.parse(path.read_text())
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names}
    return names | {node.module for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.module}


def roots(names: set[str]) -> set[str]:
    """The top-level packages of ``names``."""
    return {name.split(".")[0] for name in names}

"""The layers, checked: imports point one way and never in a circle.

Every import in the project's code is read from the source (module level and
inside functions alike), so a cycle cannot hide behind a function-level
import.  docs/architecture.md draws the same map.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("domain", "messages", "services", "bot", "jobs", "web", "emulator")
TOP_MODULES = ("app", "cli", "config", "models")

# layer -> the layers it may import (besides the standard library and
# third-party packages, checked below).
ALLOWED = {
    "config": set(),
    "domain": {"domain"},
    "models": {"domain"},
    "messages": {"messages", "domain"},
    "services": {"services", "messages", "domain", "models", "config"},
    "bot": {"bot", "services", "messages", "domain", "models", "config"},
    "jobs": {"jobs", "bot", "services", "messages", "domain", "models", "config"},
    "web": {"web", "jobs", "services", "messages", "domain", "models", "config", "emulator"},
    "cli": {"jobs", "bot", "services", "messages", "domain", "models", "config"},
    "app": {"web", "jobs", "bot", "services", "messages", "domain", "models", "config", "emulator", "cli"},
    # The fake LINE Platform knows nothing of the bot.
    "emulator": {"emulator"},
}
# Pure layers stay free of the web framework, LINE, the database and the queue.
FORBIDDEN_THIRD_PARTY = {
    "domain": {"flask", "linebot", "peewee", "playhouse", "redis", "rq", "werkzeug", "urllib3"},
    "messages": {"flask", "linebot", "peewee", "playhouse", "redis", "rq", "werkzeug", "urllib3"},
    "services": {"flask", "linebot", "redis", "rq", "werkzeug", "urllib3"},
}


def project_modules() -> dict[str, Path]:
    modules = {name: ROOT / f"{name}.py" for name in TOP_MODULES}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


MODULES = project_modules()


def layer_of(module: str) -> str:
    return module.split(".")[0]


@cache
def imports_of(module: str) -> frozenset[str]:
    """Every module (project or not) that ``module`` imports, anywhere in it
    (each file parsed once per run: every test below reads the same graph)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import mod` depends on the submodule pkg.mod; any other
            # name comes from pkg itself.
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in MODULES else base)
    return frozenset(found)


@cache
def project_graph() -> dict[str, set[str]]:
    graph = {}
    for module in MODULES:
        targets = set()
        for name in imports_of(module):
            # `import a.b.c` depends on the longest project module it names.
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, result = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return result


def test_it_finds_every_layer_of_the_project():
    assert {layer_of(m) for m in MODULES} == set(ALLOWED)


def test_it_has_no_import_cycles():
    assert cycles(project_graph()) == []


def test_it_would_see_a_cycle_behind_a_function_level_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert cycles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_the_layers(module):
    allowed = ALLOWED[layer_of(module)]
    wrong = sorted(
        t for t in project_graph()[module] if layer_of(t) not in allowed and layer_of(t) != layer_of(module)
    )
    assert wrong == [], f"{module} may import only {sorted(allowed)}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer_of(m) in FORBIDDEN_THIRD_PARTY))
def test_pure_layers_stay_pure(module):
    forbidden = FORBIDDEN_THIRD_PARTY[layer_of(module)]
    wrong = sorted(name for name in imports_of(module) if name.split(".")[0] in forbidden)
    assert wrong == []


def test_every_job_name_is_a_function_rq_can_import():
    import importlib

    from jobs.queue import Job

    for job in Job:
        module, _, function = job.value.rpartition(".")
        assert callable(getattr(importlib.import_module(module), function)), job

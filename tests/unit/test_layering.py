"""The package's layers and rooms, as docs/ARCHITECTURE.md draws them, checked over every import.

Each module of `functions/sibling_sentinel` belongs to one room. A room may import the rooms below
it, and the domain's capabilities may import only `core`, `ports` and themselves, plus the arrows
named in `ARROWS`, each with the reason it is needed. Imports inside functions and under
`TYPE_CHECKING` count: a lazy import is still an arrow. The checker is a pure function of the import
table, so the tests below also feed it the two arrows it exists to refuse.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "functions" / "sibling_sentinel"
ROOT_NAME = "sibling_sentinel"
CAPABILITIES = ("manifests", "sweep", "event_path", "inventory", "restore", "verify")

# The rooms each room may import, besides itself. The domain imports no AWS library at all.
MAY_IMPORT: Mapping[str, frozenset[str]] = {
    "errors": frozenset(),
    "core": frozenset({"errors"}),
    "ports": frozenset({"core", "errors"}),
    **{capability: frozenset({"core", "ports", "errors"}) for capability in CAPABILITIES},
    "adapters": frozenset({"core", "ports", "errors", "package", *CAPABILITIES}),
    "config": frozenset({"core", "errors", *CAPABILITIES}),
    "lambda_edge": frozenset({"core", "ports", "errors", "config", "adapters", "package", *CAPABILITIES}),
    "cli": frozenset(
        {"core", "ports", "errors", "config", "adapters", "lambda_edge", "package", *CAPABILITIES}
    ),
    "package": frozenset(),
}

# Arrows between capabilities: (from, to) -> why. Nothing else crosses, and these make no cycle.
ARROWS: Mapping[tuple[str, str], str] = {
    ("sweep", "manifests"): "a sweep reads each tarball's manifest as it lists (ManifestReads)",
    ("event_path", "manifests"): "an upload's check is one tarball judged in full, manifest included",
    ("verify", "manifests"): "verify judges the tarball first and compares the manifest's sha256",
    ("restore", "manifests"): "a restore chooses by each candidate's valid manifest",
    ("restore", "sweep"): "a restore search sweeps the prefix (reconcile) and reads the reports' times",
    (
        "sweep",
        "event_path",
    ): "fleet health asks whether the event path checked each new upload, by its check id",
}

NO_AWS_IN = frozenset({"core", "ports", *CAPABILITIES})
AWS_LIBRARIES = ("boto3", "botocore", "mypy_boto3_", "aws_lambda_powertools", "moto", "s3transfer")


def room_of(module: str) -> str:
    """The room of a module's dotted name under the package (`domain.sweep.report` -> `sweep`)."""
    parts = module.split(".")
    if parts[0] == "domain":
        if len(parts) == 1:
            return "package"
        return "ports" if parts[1] == "ports" else parts[1]
    if parts[0] in ("errors", "config", "adapters", "lambda_edge", "cli"):
        return parts[0]
    return "package"


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> tuple[set[str], set[str]]:
    """(the package's modules this file imports, the top-level names of everything else it imports)."""
    module = _module_of(path)
    here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    inside, outside = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(ROOT_NAME + "."):
                    inside.add(alias.name.removeprefix(ROOT_NAME + "."))
                else:
                    outside.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                name = node.module or ""
                if name == ROOT_NAME or name.startswith(ROOT_NAME + "."):
                    inside.add(name.removeprefix(ROOT_NAME).lstrip("."))
                else:
                    outside.add(name)
                continue
            base = here[: len(here) - (node.level - 1)] if node.level > 1 else here
            target = ".".join([*base, *([node.module] if node.module else [])])
            if node.module is None:  # `from . import wiring`: each name is a module
                inside.update(f"{target}.{a.name}".lstrip(".") for a in node.names)
            else:
                inside.add(target)
    return inside, outside


def import_table() -> dict[str, tuple[set[str], set[str]]]:
    return {_module_of(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def violations(table: Mapping[str, tuple[Iterable[str], Iterable[str]]]) -> list[str]:
    """Every import that breaks the layering, one line each; empty when the package keeps it."""
    found = []
    for module, (inside, outside) in table.items():
        room = room_of(module)
        for target in inside:
            to = room_of(target) if target else "package"
            if to == room or (
                to in MAY_IMPORT[room] and (room not in CAPABILITIES or to not in CAPABILITIES)
            ):
                continue
            if room in CAPABILITIES and to in CAPABILITIES and (room, to) in ARROWS:
                continue
            found.append(f"{module} ({room}) imports {target} ({to})")
        if room in NO_AWS_IN:
            found += [f"{module} ({room}) imports {o}" for o in outside if o.startswith(AWS_LIBRARIES)]
    return sorted(found)


def room_cycles(arrows: Iterable[tuple[str, str]]) -> list[list[str]]:
    graph: dict[str, set[str]] = {}
    for a, b in arrows:
        if a != b:
            graph.setdefault(a, set()).add(b)
    cycles, path = [], []

    def visit(node: str) -> None:
        if node in path:
            cycles.append([*path[path.index(node) :], node])
            return
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            visit(nxt)
        path.pop()

    for start in sorted(graph):
        visit(start)
    return cycles


def test_the_package_keeps_its_layers() -> None:
    # given every import in functions/sibling_sentinel
    table = import_table()
    # when they are checked against the rooms
    broken = violations(table)
    # then none breaks them
    assert broken == []


def test_there_is_no_cycle_between_rooms() -> None:
    # given the arrows between rooms that the package really has
    arrows = {(room_of(m), room_of(t)) for m, (inside, _) in import_table().items() for t in inside if t}
    # when they are walked
    # then no room reaches itself again
    assert room_cycles(arrows) == []


def test_every_named_arrow_is_used() -> None:
    # given the arrows between capabilities that the package really has
    real = {(room_of(m), room_of(t)) for m, (inside, _) in import_table().items() for t in inside if t}
    # when they are compared with the named ones
    # then each named arrow exists (a stale reason would hide that the arrow went away)
    assert set(ARROWS) <= real


def test_a_domain_module_that_imports_an_adapter_is_refused() -> None:
    # given a core module and a capability that import the S3 adapter
    table = {
        "domain.core.verdicts": ({"adapters.s3"}, set()),
        "domain.sweep.reconcile": ({"adapters.s3", "domain.core.objects"}, set()),
    }
    # when it is checked
    broken = violations(table)
    # then both arrows are named
    assert broken == [
        "domain.core.verdicts (core) imports adapters.s3 (adapters)",
        "domain.sweep.reconcile (sweep) imports adapters.s3 (adapters)",
    ]


def test_a_capability_that_imports_a_sibling_capability_is_refused() -> None:
    # given the inventory importing the sweep, an arrow nobody named
    table = {"domain.inventory.inventory": ({"domain.sweep.report", "domain.ports"}, set())}
    # when it is checked
    # then it is refused
    assert violations(table) == ["domain.inventory.inventory (inventory) imports domain.sweep.report (sweep)"]


def test_the_domain_may_not_import_boto3_or_the_edges() -> None:
    # given a capability importing boto3, the config and Lambda's wiring
    table = {"domain.verify.verify": ({"config", "lambda_edge.wiring"}, {"boto3", "hashlib"})}
    # when it is checked
    # then each is refused, and the standard library is not
    assert violations(table) == [
        "domain.verify.verify (verify) imports boto3",
        "domain.verify.verify (verify) imports config (config)",
        "domain.verify.verify (verify) imports lambda_edge.wiring (lambda_edge)",
    ]


def test_lambdas_edge_may_not_import_the_cli() -> None:
    # given Lambda's wiring importing the CLI's worker processes (the Lambda bundle leaves cli/ out)
    table = {"lambda_edge.wiring": ({"cli.processes"}, set())}
    # when it is checked
    # then it is refused
    assert violations(table) == ["lambda_edge.wiring (lambda_edge) imports cli.processes (cli)"]


def test_a_cycle_between_rooms_is_found() -> None:
    # given two rooms importing each other
    # when the arrows are walked
    # then the cycle is named
    assert room_cycles({("sweep", "manifests"), ("manifests", "sweep")}) == [
        ["manifests", "sweep", "manifests"],
        ["sweep", "manifests", "sweep"],
    ]

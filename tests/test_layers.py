"""The package's layers: every import points down the table, and only the platform seam loops.

The layers, bottom to top (docs/ARCHITECTURE.md says why each sits where it
does): the platform seam ``proc``; the foundation (errors, states, atomic,
paths); ``job_control``; ``solvers``; ``gams``; ``run``; ``launch``; ``term``
with ``multi_run_progress``; ``report``; ``remote``; ``scan``; ``cli``.  A
module may import its own layer and those below it, never one above.  The
one cycle allowed is the seam's: ``proc.procgroup`` picks ``proc._posix`` or
``proc._windows``, which use its shared types.

Imports are read with ``ast`` (those inside functions too), so a lazy
import cannot hide an upward one.
"""

import ast
import os

PACKAGE = "times_doctor"
ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), PACKAGE)

LAYERS = (
    ("proc",),
    ("errors", "states", "atomic", "paths", ""),
    ("job_control",),
    ("solvers",),
    ("gams",),
    ("run",),
    ("launch",),
    ("term", "multi_run_progress"),
    ("report",),
    ("remote",),
    ("scan",),
    ("cli", "__main__"),
)
RANK = dict((name, rank) for rank, names in enumerate(LAYERS) for name in names)
SEAM_CYCLE = set(["proc.procgroup", "proc._posix", "proc._windows"])


def modules():
    """{dotted name below the package ("" for the package itself): source path}."""
    found = {}
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if name != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                if dotted == "__init__":
                    dotted = ""
                elif dotted.endswith(".__init__"):
                    dotted = dotted[:-len(".__init__")]
                found[dotted] = path
    return found


def imports(path, known):
    """The package's modules that the module at *path* imports (anywhere in it)."""
    with open(path, "rb") as handle:
        tree = ast.parse(handle.read(), path)
    out = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module + "." + alias.name for alias in node.names] + [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            if name == PACKAGE or name.startswith(PACKAGE + "."):
                dotted = name[len(PACKAGE) + 1:]
                if dotted in known:
                    out.add(dotted)
                    if isinstance(node, ast.ImportFrom):
                        break  # "from pkg import module": the module, not pkg too
    return out


def layer(dotted):
    return RANK[dotted.split(".")[0]]


def graph():
    known = modules()
    return dict((name, imports(path, known) - set([name])) for name, path in known.items())


def test_every_module_has_a_layer():
    assert [name for name in modules() if name.split(".")[0] not in RANK] == []


def test_no_import_points_up_the_table():
    upward = sorted((name, target) for name, targets in graph().items() for target in targets
                    if target and layer(target) > layer(name))
    assert upward == []


def test_the_only_cycle_is_the_platform_seams():
    edges = graph()
    cycles = [component for component in _strong_components(edges) if len(component) > 1]
    assert [set(component) for component in cycles] in ([], [SEAM_CYCLE])
    assert cycles, "the seam's cycle is gone: update SEAM_CYCLE and ARCHITECTURE.md"


def test_launchers_are_named_only_by_the_launcher_table_and_their_own_modules():
    """Adding a launcher touches its own module and one row: nothing else says "slurm"."""
    allowed = set(["launch.table", "launch.slurm", "launch.slurm_task", "launch.slurm_poller",
                   "launch.slurm_queue",
                   # reads state files version 1, whose per-job keys were slurm_*
                   "paths",
                   # advice to the user ("--launcher slurm --slurm-arg=--exclusive"), not a decision
                   "report.ranking"])
    speaking = []
    for name, path in sorted(modules().items()):
        with open(path, "rb") as handle:
            tree = ast.parse(handle.read(), path)
        for node in ast.walk(tree):
            text = _string(node)
            if text is not None and "slurm" in text.lower() \
                    and name not in allowed and not _is_docstring(tree, node):
                speaking.append((name, text[:60]))
    assert speaking == []


def _string(node):
    """A string constant's text, else None (ast.Str before 3.8, ast.Constant after)."""
    if type(node).__name__ == "Constant":
        return node.value if isinstance(node.value, str) else None
    if type(node).__name__ == "Str":
        return node.s
    return None


def _is_docstring(tree, node):
    for owner in ast.walk(tree):
        if isinstance(owner, (ast.Module, ast.ClassDef, ast.FunctionDef)) and owner.body:
            first = owner.body[0]
            if isinstance(first, ast.Expr) and first.value is node:
                return True
    return False


def _strong_components(edges):
    """Tarjan's strongly connected components of {node: set of nodes}."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
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
            found.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found

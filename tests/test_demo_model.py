"""tests/models/demo (make demo's model): its MPS is the matrix of its .gms."""

import importlib
import os
import re
import sys

import pytest

DEMO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models", "demo")


@pytest.fixture(scope="module")
def generator():
    sys.path.insert(0, DEMO_DIR)
    try:
        return importlib.import_module("make_demo_mps")
    finally:
        sys.path.remove(DEMO_DIR)


def gams_formulas():
    with open(os.path.join(DEMO_DIR, "demo.gms")) as handle:
        return [line.strip() for line in handle if re.match(r"^[abc]\((i|j|i,j)\)\s+=", line)]


def as_python(formula):
    """demo.gms's right-hand side as a Python expression of i and j."""
    expression = formula.split("=", 1)[1].rstrip(";")
    expression = re.sub(r"ord\((i|j)\)", r"\1", expression)
    expression = re.sub(r"mod\(([^,]+), (\d+)\)", r"((\1) % \2)", expression)
    return expression


def test_the_generator_quotes_the_gams_formulas(generator):
    assert gams_formulas() == list(generator.GAMS_FORMULAS)


@pytest.mark.parametrize("i,j", [(1, 1), (7, 990), (500, 2), (990, 990), (123, 456)])
def test_the_python_formulas_compute_the_gams_ones(generator, i, j):
    a, b, c = [as_python(formula) for formula in gams_formulas()]
    assert eval(a, {"i": i, "j": j}) == generator.a(i, j)
    assert eval(b, {"i": i, "j": j}) == generator.b(i)
    assert eval(c, {"i": i, "j": j}) == generator.c(j)


def test_demo_mps_has_the_gams_shape(generator, tmp_path):
    path = str(tmp_path / "demo.mps")
    generator.write(path)
    rows = columns = nonzeros = 0
    section = None
    seen = set()
    with open(path) as handle:
        for line in handle:
            if line.startswith("*"):
                continue
            if not line[0].isspace():
                section = line.split()[0]
                continue
            fields = line.split()
            if section == "ROWS" and fields[0] != "N":
                rows += 1
            elif section == "COLUMNS":
                if fields[0] not in seen:
                    seen.add(fields[0])
                    columns += 1
                nonzeros += sum(1 for row in fields[1::2] if row != "_obj")
    assert (rows, columns) == (991, 991)  # within CPLEX Community Edition's 1000
    zeros = sum(1 for i in range(1, 991) for j in range(1, 991) if generator.a(i, j) == 0)
    cost_zeros = sum(1 for j in range(1, 991) if generator.c(j) == 0)
    assert nonzeros == 990 * 990 - zeros + (990 - cost_zeros) + 1

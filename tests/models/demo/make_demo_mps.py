#!/usr/bin/env python3
"""Write demo.mps beside this file: the matrix of demo.gms, for the GAMS stand-in.

Not checked in (about 30 MB): ``make demo`` writes it first.  The formulas are
demo.gms's, term for term, in IEEE double arithmetic that gives the same
values in GAMS and Python (integer products below 2**53, one division, one
subtraction); ``tests/test_demo_model.py`` checks that the formulas below are
the ones in demo.gms.  The shape is GAMS's: the objective row ``_obj`` holds
only ``z``, the equation ``obj`` defining it is a row (as in
tests/models/make_mps.py), and zero coefficients are left out as GAMS does.

Standard library only, CPython 3.6 to 3.13.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROWS = 990
COLUMNS = 990

# The three formulas of demo.gms, as GAMS writes them (test_demo_model.py compares).
GAMS_FORMULAS = (
    "a(i,j) = (mod(ord(i)*ord(j)*7919 + ord(i)*31 + ord(j)*17, 1000) - 500) / 1000;",
    "b(i)   = mod(ord(i)*13, 50) + 1;",
    "c(j)   = mod(ord(j)*37, 100) / 100 - 0.3;",
)


def a(i, j):
    return ((i * j * 7919 + i * 31 + j * 17) % 1000 - 500) / 1000.0


def b(i):
    return float((i * 13) % 50 + 1)


def c(j):
    return ((j * 37) % 100) / 100.0 - 0.3


def write(path):
    """Write the free-format MPS file of demo.gms to *path*."""
    with open(path, "w") as out:
        out.write("* demo.mps: the matrix of tests/models/demo/demo.gms, written by "
                  "make_demo_mps.py\n")
        out.write("* LP, %d rows, %d columns (GAMS's count: the obj equation and z included)\n"
                  % (ROWS + 1, COLUMNS + 1))
        out.write("NAME demo\nROWS\n N _obj\n")
        out.writelines(" L row(r%d)\n" % i for i in range(1, ROWS + 1))
        out.write(" E obj\nCOLUMNS\n")
        for j in range(1, COLUMNS + 1):
            name = "x(c%d)" % j
            lines = [" %s row(r%d) %r\n" % (name, i, a(i, j))
                     for i in range(1, ROWS + 1) if a(i, j) != 0.0]
            if c(j) != 0.0:
                lines.append(" %s obj %r\n" % (name, -c(j)))
            out.writelines(lines)
        out.write(" z _obj 1 obj 1\nRHS\n")
        out.writelines(" rhs row(r%d) %r\n" % (i, b(i)) for i in range(1, ROWS + 1))
        out.write("BOUNDS\n")
        out.writelines(" UP bnd x(c%d) 10\n" % j for j in range(1, COLUMNS + 1))
        out.write(" FR bnd z\nENDATA\n")


def main():
    path = os.path.join(HERE, "demo.mps")
    temporary = path + ".tmp"
    write(temporary)
    os.replace(temporary, path)
    sys.stdout.write("wrote %s\n" % os.path.relpath(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())

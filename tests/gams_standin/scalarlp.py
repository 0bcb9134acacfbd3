"""The one kind of GAMS model the stand-in compiles: a scalar-only LP.

times-doctor's solver check (``times-doctor check`` and the scan's preflight)
solves a one-variable LP through GAMS with each solver.  The stand-in
compiles no GAMS (its models come with an MPS file), so it compiles just
this much, and says so in its README:

* ``[Free|Positive] Variable(s) a, b;`` and ``Equation(s) e, f;`` of scalars
  (no domains, no explanatory text);
* ``e.. LINEAR =e= LINEAR;`` (also ``=l=``, ``=g=``), where LINEAR is a sum of
  ``[+|-] [NUMBER [*]] NAME`` and ``[+|-] NUMBER`` terms;
* ``x.lo = NUMBER;``, ``x.up = NUMBER;``, ``x.fx = NUMBER;``;
* ``Model m / all /;`` (or a list of its equations) and one ``solve``.

Anything else (sets, parameters, indexed symbols, other statements) makes
``to_mps`` return None, and the stand-in reports that it compiles no GAMS.
The MPS is shaped like tests/models/make_mps.py's: the objective row
``_obj`` holds only the objective variable.
"""

import re

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_DECLARATION = re.compile(r"^(free\s+|positive\s+)?(variables?|equations?)\s+(.+)$", re.I | re.S)
_DEFINITION = re.compile(r"^(%s)\s*\.\.\s*(.+?)\s*=([elg])=\s*(.+)$" % _NAME, re.I | re.S)
_BOUND = re.compile(r"^(%s)\s*\.\s*(lo|up|fx)\s*=\s*(\S+)$" % _NAME, re.I)
_MODEL = re.compile(r"^models?\s+(%s)\s*/\s*(.+?)\s*/$" % _NAME, re.I | re.S)
_TERM = re.compile(r"\s*([+-])?\s*(?:(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
                   r"\s*\*?\s*)?(%s)?\s*" % _NAME)


class NotScalar(Exception):
    """The program is more than a scalar LP."""


def to_mps(statements, solve):
    """MPS text for *statements* ([(line, text)] from gamsfile) up to *solve*, or None."""
    try:
        return _compile(statements, solve)
    except (NotScalar, ValueError):
        return None


def _compile(statements, solve):
    variables = {}   # name -> [lower, upper], in declaration order
    equations = []   # [name]
    rows = {}        # name -> (sense, {variable: coefficient}, rhs)
    model = None
    for line, text in statements:
        if line >= solve.line:
            break
        text = " ".join(text.split())
        declaration = _DECLARATION.match(text)
        if declaration:
            names = [name.strip() for name in declaration.group(3).split(",")]
            if not all(re.match("^%s$" % _NAME, name) for name in names):
                raise NotScalar(text)
            for name in names:
                if declaration.group(2).lower().startswith("var"):
                    lower = 0.0 if (declaration.group(1) or "").strip().lower() == "positive" \
                        else float("-inf")
                    variables[name.lower()] = [lower, float("inf")]
                else:
                    equations.append(name.lower())
            continue
        definition = _DEFINITION.match(text)
        if definition:
            left, constant_left = _linear(definition.group(2), variables)
            right, constant_right = _linear(definition.group(4), variables)
            for name, value in right.items():
                left[name] = left.get(name, 0.0) - value
            rows[definition.group(1).lower()] = (definition.group(3).upper(), left,
                                                 constant_right - constant_left)
            continue
        bound = _BOUND.match(text)
        if bound and bound.group(1).lower() in variables:
            value = float(bound.group(3))
            limits = variables[bound.group(1).lower()]
            kind = bound.group(2).lower()
            if kind in ("lo", "fx"):
                limits[0] = value
            if kind in ("up", "fx"):
                limits[1] = value
            continue
        declared = _MODEL.match(text)
        if declared:
            model = (declared.group(1).lower(), declared.group(2))
            continue
        raise NotScalar(text)
    if model is None or model[0] != solve.model.lower() or solve.model_type != "LP":
        raise NotScalar("no LP model %s" % solve.model)
    members = equations if model[1].strip().lower() == "all" else \
        [name.strip().lower() for name in model[1].split(",")]
    if solve.objective.lower() not in variables or any(name not in rows for name in members):
        raise NotScalar("undefined equation or objective")
    return _mps(solve.model, variables, [(name, rows[name]) for name in members],
                solve.objective.lower())


def _linear(text, variables):
    """({variable: coefficient}, constant) of a linear expression over scalar variables."""
    coefficients = {}
    constant = 0.0
    position = 0
    text = text.strip()
    first = True
    while position < len(text):
        match = _TERM.match(text, position)
        if not match or match.end() == position or (not first and not match.group(1)):
            raise NotScalar(text)
        sign = -1.0 if match.group(1) == "-" else 1.0
        number = float(match.group(2)) if match.group(2) else None
        name = match.group(3)
        if name is None:
            if number is None:
                raise NotScalar(text)
            constant += sign * number
        elif name.lower() not in variables:
            raise NotScalar("unknown variable %s" % name)
        else:
            key = name.lower()
            coefficients[key] = coefficients.get(key, 0.0) + sign * (1.0 if number is None
                                                                   else number)
        position = match.end()
        first = False
    return coefficients, constant


def _mps(model, variables, rows, objective):
    lines = ["* MPS written by the GAMS stand-in from a scalar-only LP (scalarlp.py)",
             "NAME %s" % model, "ROWS", " N  _obj"]
    lines.extend(" %s  %s" % (sense, name) for name, (sense, _, _) in rows)
    lines.append("COLUMNS")
    for variable in variables:
        if variable == objective:
            lines.append("    %s  _obj  1" % variable)
        for name, (_, coefficients, _) in rows:
            if coefficients.get(variable):
                lines.append("    %s  %s  %r" % (variable, name, coefficients[variable]))
    lines.append("RHS")
    lines.extend("    RHS  %s  %r" % (name, rhs) for name, (_, _, rhs) in rows if rhs)
    lines.append("BOUNDS")
    for variable, (lower, upper) in variables.items():
        if lower == float("-inf") and upper == float("inf"):
            lines.append(" FR BND  %s" % variable)
            continue
        if lower == upper:
            lines.append(" FX BND  %s  %r" % (variable, lower))
            continue
        if lower == float("-inf"):
            lines.append(" MI BND  %s" % variable)
        elif lower != 0.0:
            lines.append(" LO BND  %s  %r" % (variable, lower))
        if upper != float("inf"):
            lines.append(" UP BND  %s  %r" % (variable, upper))
    lines.append("ENDATA")
    return "\n".join(lines) + "\n"

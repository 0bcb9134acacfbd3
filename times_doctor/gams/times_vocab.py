"""TIMES's equation families and variables in plain words, and GAMS names split into parts.

A conflict refiner, a datacheck warning or an infeasibility report names one
row or column of the matrix in GAMS's notation, ``EQ_CUMFLO('R0N','IMPELC',
ACT,2020,2200)``.  A modeller thinks in TIMES families ("the cumulative flow
limit of process IMPELC in region R0N") and in the data that made the row
(``FLO_CUM``).  This module holds that mapping, taken from the TIMES source
(etsap-TIMES/TIMES_model, commit c152dbb6, GPLv3; facts are cited, no code
is copied):

* equation families, their descriptions and index domains:
  ``eqdeclr.mod`` (``EQUATIONS`` block; ``EQ<sense>_<FAMILY>`` for the
  families declared once per sense, ``=G=``/``=E=``/``=L=``);
* variables and their descriptions: ``mod_vars.mod``;
* which input parameter bounds a variable: ``bnd_act.mod`` (ACT_BND ->
  VAR_ACT), ``bnd_flo.mod`` (FLO_BND -> VAR_FLO), ``bnd_cum.mod`` (FLO_CUM ->
  VAR_CUMFLO, COM_CUM -> VAR_CUMCOM), ``bndmain.mod`` (NCAP_BND, CAP_BND);
  which parameter sets an equation's constant: ``eqcumflo.mod`` (the row is
  a definition, ``sum of flows - VAR_CUMFLO = 0``; the limit is the bound on
  VAR_CUMFLO), ``eqcombal.mod`` (COM_PROJ demand), ``eqcapact.mod``
  (NCAP_AF/AFA/AFS availability), ``equserco.mod`` (UC_RHS*).

Imports nothing from the package.
"""

import collections
import re

# Index roles, as the equation and variable definitions use the domains
# (RTP_VINTYR(R,V,T,P): V vintage, T period).
REGION, YEAR, PERIOD, VINTAGE, PROCESS, COMMODITY, GROUP, TIMESLICE, LIMIT = (
    "region", "year", "period", "vintage", "process", "commodity", "commodity group",
    "timeslice", "limit type")

Family = collections.namedtuple("Family", "name plain indices data")
Family.__doc__ = """One equation family or variable of TIMES.

name: the family without its sense letter ("COMBAL" for EQG_COMBAL/EQE_COMBAL;
    "VAR_ACT" for a variable); plain: what it is, in words; indices: the role
    of each index position (a tuple of the role constants; the last ones may
    be absent in a shorter name); data: the input parameter(s) a modeller
    changes to move it (a str, "" when none is direct).
"""

# eqdeclr.mod, family -> (plain name, index roles, the data behind its constant).
_EQUATIONS = (
    ("OBJ", "overall objective function", (), ""),
    ("OBJINV", "investment costs in the objective", (REGION, "currency"), "NCAP_COST"),
    ("OBJFIX", "fixed costs in the objective", (REGION, "currency"), "NCAP_FOM"),
    ("OBJVAR", "variable operating costs in the objective", (REGION, "currency"),
     "ACT_COST, FLO_COST"),
    ("OBJSALV", "salvage value in the objective", (REGION, "currency"), ""),
    ("OBJELS", "costs of elastic demands", (REGION, "step", "currency"), "COM_ELAST"),
    ("ACTFLO", "process activity / primary commodity flows",
     (REGION, VINTAGE, PERIOD, PROCESS, TIMESLICE), "PRC_ACTFLO"),
    ("ACTBND", "process activity bound in a period", (REGION, PERIOD, PROCESS, TIMESLICE),
     "ACT_BND"),
    ("BNDNET", "net bound on a commodity", (REGION, PERIOD, COMMODITY, TIMESLICE),
     "COM_BNDNET"),
    ("BNDPRD", "production bound on a commodity", (REGION, PERIOD, COMMODITY, TIMESLICE),
     "COM_BNDPRD"),
    ("CAPACT", "capacity utilisation (activity within available capacity)",
     (REGION, VINTAGE, PERIOD, PROCESS, TIMESLICE), "NCAP_AF, NCAP_AFA, NCAP_AFS"),
    ("COMBAL", "commodity balance", (REGION, PERIOD, COMMODITY, TIMESLICE),
     "COM_PROJ (demand), the production and consumption of the commodity"),
    ("COMPRD", "commodity production", (REGION, PERIOD, COMMODITY, TIMESLICE), ""),
    ("COMCES", "CES substitution steps", (REGION, PERIOD, COMMODITY, COMMODITY, TIMESLICE),
     ""),
    ("CPT", "capacity transfer", (REGION, PERIOD, PROCESS), "NCAP_PASTI, PRC_RESID, CAP_BND"),
    ("CUMNET", "cumulative net commodity limit", (REGION, COMMODITY, YEAR, YEAR), "COM_CUMNET"),
    ("CUMPRD", "cumulative commodity production limit", (REGION, COMMODITY, YEAR, YEAR),
     "COM_CUMPRD"),
    ("CUMFLO", "cumulative commodity flow limit", (REGION, PROCESS, COMMODITY, YEAR, YEAR),
     "FLO_CUM"),
    ("FLOFR", "flow fraction", (REGION, PERIOD, PROCESS, COMMODITY, TIMESLICE, LIMIT),
     "FLO_FR"),
    ("FLOBND", "flow bound", (REGION, PERIOD, PROCESS, GROUP, TIMESLICE), "FLO_BND"),
    ("INSHR", "commodity input group share",
     (REGION, VINTAGE, PERIOD, PROCESS, COMMODITY, GROUP, TIMESLICE), "FLO_SHAR"),
    ("OUTSHR", "commodity output group share",
     (REGION, VINTAGE, PERIOD, PROCESS, COMMODITY, GROUP, TIMESLICE), "FLO_SHAR"),
    ("STGIPS", "inter-period storage", (REGION, VINTAGE, PERIOD, PROCESS, "item"), ""),
    ("STGAUX", "storage auxiliary flows", (REGION, VINTAGE, PERIOD, PROCESS, COMMODITY,
                                           TIMESLICE), ""),
    ("IRE", "inter-regional exchange process balance",
     (REGION, PERIOD, PROCESS, COMMODITY, "import/export", TIMESLICE), ""),
    ("IREBND", "limit on inter-regional exchange",
     (REGION, PERIOD, COMMODITY, TIMESLICE, "other region", "import/export"), "IRE_BND"),
    ("XBND", "limit on total exchange", (REGION, PERIOD, COMMODITY, TIMESLICE,
                                         "import/export"), "IRE_XBND"),
    ("FLOMRK", "process market share", (REGION, PERIOD, "item", COMMODITY, TIMESLICE),
     "FLO_MARK, PRC_MARK"),
    ("PEAK", "commodity peaking constraint", (REGION, PERIOD, COMMODITY, TIMESLICE),
     "COM_PKRSV, NCAP_PKCNT"),
    ("PTRANS", "commodity-to-commodity transformation",
     (REGION, VINTAGE, PERIOD, PROCESS, GROUP, GROUP, TIMESLICE), "FLO_FUNC, FLO_SUM"),
    ("STGTSS", "time-slice storage", (REGION, VINTAGE, PERIOD, PROCESS, TIMESLICE), ""),
    ("STSBAL", "time-slice storage balancer", (REGION, VINTAGE, PERIOD, PROCESS, "level",
                                               TIMESLICE), ""),
    ("STGIN", "bound on the input flow of storage", (REGION, PERIOD, PROCESS, COMMODITY,
                                                     TIMESLICE), "STGIN_BND"),
    ("STGOUT", "bound on the output flow of storage", (REGION, PERIOD, PROCESS, COMMODITY,
                                                       TIMESLICE), "STGOUT_BND"),
    ("CUMRET", "cumulative retirements", (REGION, VINTAGE, PERIOD, PROCESS), ""),
    ("REFIT", "retrofit / life extension", (REGION, VINTAGE, PERIOD, PROCESS), ""),
    ("SCAP", "salvage capacity", (REGION, VINTAGE, PROCESS), ""),
    ("BNDCST", "bound on cumulative costs", (REGION, YEAR, PERIOD, YEAR, "cost", "currency"),
     "REG_CUMCST"),
    ("UC", "user constraint", ("constraint",), "UC_RHS"),
    ("UCR", "user constraint by region", (REGION, "constraint"), "UC_RHSR"),
    ("UCT", "user constraint by period", ("constraint", PERIOD), "UC_RHST"),
    ("UCRT", "user constraint by region and period", (REGION, PERIOD, "constraint"),
     "UC_RHSRT"),
    ("UCTS", "user constraint by period and timeslice", ("constraint", PERIOD, TIMESLICE),
     "UC_RHSTS"),
    ("UCRS", "user constraint by region and timeslice level",
     (REGION, PERIOD, "constraint", "timeslice level", TIMESLICE), "UC_RHSRTS"),
    ("UCRTS", "user constraint by region, period and timeslice",
     (REGION, PERIOD, "constraint", TIMESLICE), "UC_RHSRTS"),
    ("UCSU", "user constraint (successive periods)", ("constraint", PERIOD), "UC_RHST"),
    ("UCSUS", "user constraint (successive periods, timeslice)",
     ("constraint", PERIOD, TIMESLICE), "UC_RHSTS"),
    ("UCRSU", "user constraint by region (successive periods)",
     (REGION, PERIOD, "constraint"), "UC_RHSRT"),
    ("UCRSUS", "user constraint by region and timeslice (successive periods)",
     (REGION, PERIOD, "constraint", TIMESLICE), "UC_RHSRTS"),
    ("BLND", "refinery blending", (REGION, PERIOD, "blend", "specification"), "BL_*"),
    ("DAMAGE", "damage costs", (REGION, PERIOD, COMMODITY), "DAM_*"),
)

# mod_vars.mod, variable -> (plain name, index roles, the input that bounds it).
_VARIABLES = (
    ("VAR_ACT", "activity of a process", (REGION, VINTAGE, PERIOD, PROCESS, TIMESLICE),
     "ACT_BND"),
    ("VAR_CAP", "installed capacity of a process", (REGION, PERIOD, PROCESS), "CAP_BND"),
    ("VAR_FLO", "process commodity flow",
     (REGION, VINTAGE, PERIOD, PROCESS, COMMODITY, TIMESLICE), "FLO_BND"),
    ("VAR_IRE", "inter-regional trade flow",
     (REGION, VINTAGE, PERIOD, PROCESS, COMMODITY, TIMESLICE, "import/export"), "IRE_BND"),
    ("VAR_NCAP", "new capacity of a process", (REGION, PERIOD, PROCESS), "NCAP_BND"),
    ("VAR_COMNET", "net commodity level", (REGION, PERIOD, COMMODITY, TIMESLICE),
     "COM_BNDNET"),
    ("VAR_COMPRD", "commodity production", (REGION, PERIOD, COMMODITY, TIMESLICE),
     "COM_BNDPRD"),
    ("VAR_ELAST", "demand change by price elasticity",
     (REGION, PERIOD, COMMODITY, TIMESLICE, "step", LIMIT), "COM_STEP, COM_VOC"),
    ("VAR_CUMCOM", "cumulative commodity production or net",
     (REGION, COMMODITY, "kind", YEAR, YEAR), "COM_CUM"),
    ("VAR_CUMFLO", "cumulative process flow", (REGION, PROCESS, COMMODITY, YEAR, YEAR),
     "FLO_CUM"),
    ("VAR_CUMCST", "cumulative regional cost", (REGION, YEAR, YEAR, "cost", "currency"),
     "REG_CUMCST"),
    ("VAR_SIN", "input flow into storage",
     (REGION, VINTAGE, PERIOD, PROCESS, COMMODITY, TIMESLICE), "STGIN_BND"),
    ("VAR_SOUT", "output flow from storage",
     (REGION, VINTAGE, PERIOD, PROCESS, COMMODITY, TIMESLICE), "STGOUT_BND"),
    ("VAR_RCAP", "new retirements", (REGION, VINTAGE, PERIOD, PROCESS), "RCAP_BND"),
    ("VAR_SCAP", "cumulative retirements", (REGION, VINTAGE, PERIOD, PROCESS), ""),
    ("VAR_UPS", "start-ups", (REGION, VINTAGE, PERIOD, PROCESS, TIMESLICE, LIMIT), ""),
    ("VAR_UDP", "unit dispatching", (REGION, VINTAGE, PERIOD, PROCESS, TIMESLICE, LIMIT), ""),
    ("VAR_OBJ", "objective cost component", (REGION, "cost", "currency"), ""),
    ("VAR_UC", "slack of a user constraint", ("constraint",), "UC_RHS"),
    ("VAR_UCR", "slack of a user constraint by region", ("constraint", REGION), "UC_RHSR"),
    ("VAR_UCT", "slack of a user constraint by period", ("constraint", PERIOD), "UC_RHST"),
    ("VAR_UCRT", "slack of a user constraint by region and period",
     ("constraint", REGION, PERIOD), "UC_RHSRT"),
)

EQUATION_FAMILIES = collections.OrderedDict(
    (name, Family(name, plain, indices, data)) for name, plain, indices, data in _EQUATIONS)
VARIABLES = collections.OrderedDict(
    (name, Family(name, plain, indices, data)) for name, plain, indices, data in _VARIABLES)

# EQ_CUMFLO, EQG_COMBAL, EQE_CAPACT, EQL_UCRT, and the stochastic / MACRO
# prefixes' shapes (%EQ% is EQ in a standard run).
_EQUATION_NAME = re.compile(r"^EQ([GELN]?)_([A-Z0-9]+)$", re.IGNORECASE)
SENSES = {"G": "=G=", "E": "=E=", "L": "=L=", "N": "non-binding", "": ""}

Symbol = collections.namedtuple("Symbol", "name labels family sense kind")
Symbol.__doc__ = """One row or column of the matrix by its GAMS name.

name: the symbol ("EQ_CUMFLO"); labels: the index labels, quotes removed
("R0N", "IMPELC", "ACT", "2020", "2200"); family: a ``Family`` or None (not
a TIMES name); sense: "=G=", "=E=", "=L=" from the name, "" when the name
does not say; kind: "equation", "variable" or "" (unknown).
"""


def split_name(text):
    """``EQ_CUMFLO('R0N','IMPELC',ACT,2020,2200)`` -> ("EQ_CUMFLO", ["R0N", ...]).

    Labels may be quoted ('...' or "...", which may hold commas and dots) or
    bare; a name without parentheses has no labels.  Never raises: text that
    is not a GAMS name comes back whole as the name.
    """
    text = text.strip()
    opening = text.find("(")
    if opening <= 0 or not text.endswith(")"):
        return text, []
    inner = text[opening + 1:-1]
    if "'" not in inner and '"' not in inner:
        return text[:opening].strip(), [label.strip() for label in inner.split(",")]
    labels = []
    position = 0
    while position <= len(inner):
        match = _LABEL.match(inner, position)
        labels.append(_unquote(match.group(1).strip()))
        if match.end() == position or not match.group(0).endswith(","):
            break
        position = match.end()
    return text[:opening].strip(), labels


# One label of a name: a quoted label (which may hold commas), else text up to a comma.
_LABEL = re.compile(r"""\s*('[^']*'|"[^"]*"|[^,]*)\s*(?:,|$)""")


def _unquote(label):
    if len(label) >= 2 and label[0] == label[-1] and label[0] in "'\"":
        return label[1:-1]
    return label


def symbol(text):
    """The ``Symbol`` of a GAMS row or column name (TIMES family when it is one)."""
    name, labels = split_name(text)
    upper = name.upper()
    match = _EQUATION_NAME.match(upper)
    if match and match.group(2) in EQUATION_FAMILIES:
        return Symbol(name, labels, EQUATION_FAMILIES[match.group(2)],
                      SENSES[match.group(1).upper()], "equation")
    if upper in VARIABLES:
        return Symbol(name, labels, VARIABLES[upper], "", "variable")
    kind = "equation" if match else ""
    return Symbol(name, labels, None, "", kind)


def family_key(text):
    """The group a name belongs to: "EQ_COMBAL" for EQG_COMBAL(...), the bare name otherwise."""
    return symbol_key(symbol(text))


def symbol_key(item):
    """family_key() of a Symbol already split."""
    if item.kind == "equation" and item.family is not None:
        return "EQ_" + item.family.name
    return item.name.upper() if item.family is not None else item.name


def describe_labels(item):
    """[(role, label)] for a Symbol's labels ("label 4" where TIMES does not say)."""
    roles = item.family.indices if item.family is not None else ()
    return [(roles[index] if index < len(roles) else "label %d" % (index + 1), label)
            for index, label in enumerate(item.labels)]


def plain_name(text):
    """"commodity balance (EQ_COMBAL)" for a TIMES name; the name itself otherwise."""
    item = symbol(text)
    if item.family is None:
        return item.name
    return "%s (%s)" % (item.family.plain, family_key(text))

"""The conflict refiner's report (GAMS/CPLEX ``iis``) read back and said in TIMES terms.

GAMS/CPLEX writes the minimal conflict CPLEX found into the log and the
listing, in GAMS names (real output quoted on the VEDA/TIMES forum, thread
1519, and in a ReEDS write-up; see tests/gams_standin/README.md)::

    Row 'EQ_CUMFLO('R0N','IMPELC',ACT,2020,2200)' infeasible, all entries at implied bounds.
    Number of equations in conflict: 1
    fixed: EQ_CUMFLO('R0N','IMPELC',ACT,2020,2200) = 0
    Number of variables in conflict: 6
    lower: VAR_ACT('R0N',2020,2020,'IMPELC',ANNUAL) > 56.89
    upper: VAR_CUMFLO(...) < 700

``ConflictReport.feed(line)`` takes any line (it ignores what is not
conflict output); members are folded into one ``FamilyTally`` per TIMES
family as they come (bounded: a conflict of a million members costs what a
few thousand do), and ``summaries()`` says each family in one sentence.
Gurobi's own ``IIS computed: N constraints and M bounds`` is read for its
counts.
"""

import collections
import re

from times_doctor.gams import times_vocab
from times_doctor.gams.tally import BoundedCounter

# How many members are kept verbatim (all are counted and folded into families).
MAX_MEMBERS = 2000
MAX_LABELS = 200    # distinct labels remembered per index position of a family

_COUNT = re.compile(r"^\s*Number of (equations|variables|indicator constraints|SOS sets) "
                    r"in conflict:\s*(\d+)")
_MEMBER = re.compile(r"^\s*(lower|upper|fixed|free|rng|equality|sos|indic)\s*:\s*(.+?)"
                     r"(?:\s+([<>=])\s*(\S+))?\s*$", re.IGNORECASE)
_PRESOLVE = re.compile(r"^\s*(?:Row '(.+)' infeasible|Bound infeasibility column '(.+)')")
_GUROBI_IIS = re.compile(r"^\s*IIS computed:\s*(\d+) constraints? and (\d+) bounds?")

Member = collections.namedtuple("Member", "kind name operator value row")
Member.__doc__ = """One line of the conflict: kind (lower, upper, fixed, ...), the GAMS
name, the operator and value as written (None when absent), row: True in the
equations part."""


class FamilyTally(object):
    """The members of one TIMES family (or one non-TIMES symbol) in a conflict."""

    def __init__(self, key, symbol):
        self.key = key
        self.symbol = symbol
        self.count = 0
        self.rows = 0
        self.kinds = collections.Counter()
        self.values = {}                # kind -> (min, max) of the numbers
        self.labels = []                # per index position: BoundedCounter of labels
        self.examples = []

    def add(self, member, labels):
        self.count += 1
        self.rows += 1 if member.row else 0
        self.kinds[member.kind] += 1
        number = _number(member.value)
        if number is not None:
            low, high = self.values.get(member.kind, (number, number))
            self.values[member.kind] = (min(low, number), max(high, number))
        while len(self.labels) < len(labels):
            self.labels.append(BoundedCounter(MAX_LABELS))
        for position, label in enumerate(labels):
            self.labels[position].add(label)
        if len(self.examples) < 3:
            self.examples.append(member)


class ConflictReport(object):
    """What the conflict output of one file says (see the module doc)."""

    def __init__(self):
        self.declared = collections.OrderedDict()   # "equations"/"variables" -> count said
        self.members = []                            # the first MAX_MEMBERS Members
        self.member_count = 0
        self.families = collections.OrderedDict()   # family key -> FamilyTally
        self.presolve = []                           # names CPLEX's presolve blamed
        self.gurobi_iis = None                       # (constraints, bounds) from Gurobi's log
        self._section = None

    @property
    def found(self):
        """True when the file holds a conflict (or Gurobi's IIS counts)."""
        return bool(self.declared) or self.member_count > 0 or self.gurobi_iis is not None

    def feed(self, line):
        """Take one line of a listing or log; lines that are not conflict output are ignored."""
        match = _COUNT.match(line)
        if match:
            self._section = match.group(1)
            self.declared[match.group(1)] = int(match.group(2))
            return
        if self._section is not None:
            member = _MEMBER.match(line)
            if member:
                self._add(Member(member.group(1).lower(), member.group(2).strip(),
                                 member.group(3), member.group(4),
                                 self._section == "equations"))
                return
            if line.strip():
                self._section = None
        match = _PRESOLVE.match(line)
        if match and len(self.presolve) < 20:
            self.presolve.append(match.group(1) or match.group(2))
            return
        match = _GUROBI_IIS.match(line)
        if match:
            self.gurobi_iis = (int(match.group(1)), int(match.group(2)))

    def _add(self, member):
        self.member_count += 1
        if len(self.members) < MAX_MEMBERS:
            self.members.append(member)
        item = times_vocab.symbol(member.name)
        key = times_vocab.symbol_key(item)
        tally = self.families.get(key)
        if tally is None:
            tally = self.families[key] = FamilyTally(key, item)
        tally.add(member, item.labels)

    def unnamed(self):
        """True when the names are CPLEX's own (c1, x1): GAMS gave it none (``names no``)."""
        return bool(self.families) and all(
            re.match(r"^[cx]\d+$", key) for key in self.families)

    def summaries(self):
        """[(family key, sentence)] for every family, equations first, in the order met."""
        ordered = sorted(self.families.values(), key=lambda tally: 0 if tally.rows else 1)
        return [(tally.key, describe_family(tally)) for tally in ordered]

    def fix_sentence(self):
        """One sentence: which input data to change to remove this conflict."""
        bounds = [tally for tally in self.families.values()
                  if not tally.rows and tally.symbol.family is not None
                  and tally.symbol.family.data]
        rows = [tally for tally in self.families.values() if tally.rows]
        if self.unnamed():
            return ("The conflict has no GAMS names (the option file says names no): run the "
                    "conflict profile, which sets names yes, to see which equations they are.")
        if not bounds and not rows:
            return None
        parts = []
        for tally in bounds:
            where = _where(tally, roles=(times_vocab.REGION, times_vocab.PROCESS,
                                         times_vocab.COMMODITY, times_vocab.YEAR,
                                         times_vocab.PERIOD))
            direction = _bound_direction(tally)
            parts.append("%s %s%s" % (direction, _data_name(tally),
                                      " for %s" % where if where else ""))
        rows_text = ", ".join("%s%s" % (tally.key, " (%s)" % tally.symbol.family.plain
                                        if tally.symbol.family else "") for tally in rows)
        if parts and rows_text:
            return ("These bounds cannot all hold through %s: %s (any one of these changes "
                    "removes this conflict; run the conflict profile again afterwards, a model "
                    "can hold several)." % (rows_text, " or ".join(parts)))
        if parts:
            return ("These bounds contradict each other: %s (then run the conflict profile "
                    "again)." % " or ".join(parts))
        return ("These equations cannot hold together: check the data behind %s (then run "
                "the conflict profile again)." % rows_text)


def describe_family(tally):
    """One sentence for one family of a conflict (see ConflictReport.summaries)."""
    symbol = tally.symbol
    if symbol.family is not None:
        what = "%s %s" % (tally.key, symbol.family.plain)
    else:
        what = tally.key
    where = _where(tally)
    noun = "equation" if tally.rows else "bound"
    count = "%d %s%s" % (tally.count, noun, "s" if tally.count != 1 else "")
    bounds = "; ".join(_kind_text(tally, kind, tally.kinds[kind], bool(tally.rows))
                       for kind in sorted(tally.kinds))
    data = ""
    if symbol.family is not None and symbol.family.data:
        data = " (input: %s)" % symbol.family.data
    return "%s: %s%s, %s%s." % (what, count, " for %s" % where if where else "", bounds, data)


# -- wording -------------------------------------------------------------

def _kind_text(tally, kind, count, is_row):
    values = tally.values.get(kind)
    if values is None:
        shown = ""
    elif values[0] == values[1]:
        shown = " %s" % _g(values[0])
    else:
        shown = " %s to %s" % (_g(values[0]), _g(values[1]))
    if is_row:
        words = {"fixed": "must equal", "lower": "must be at least",
                 "upper": "must be at most"}.get(kind, kind)
        return "%s%s" % (words, shown)
    words = {"fixed": "fixed at", "lower": "lower bound%s" % ("s" if count > 1 else ""),
             "upper": "upper bound%s" % ("s" if count > 1 else "")}.get(kind, kind)
    return "%s%s" % (words, shown)


def _where(tally, roles=None):
    """"region R1, process IMPELC, periods 2020, 2030 (+2 more)" from the labels seen.

    A family's two year indices (EQ_CUMFLO's from and to) read "years 2020-2050".
    """
    described = []
    family_roles = tally.symbol.family.indices if tally.symbol.family is not None else ()
    position = 0
    while position < len(tally.labels):
        role = family_roles[position] if position < len(family_roles) else None
        labels = sorted(label for label, _ in tally.labels[position].most_common())
        pair = (role == times_vocab.YEAR and position + 1 < len(tally.labels)
                and position + 1 < len(family_roles)
                and family_roles[position + 1] == times_vocab.YEAR)
        if pair:
            ends = sorted(label for label, _ in tally.labels[position + 1].most_common())
            if (roles is None or role in roles) and len(labels) == 1 and len(ends) == 1:
                described.append("years %s-%s" % (labels[0], ends[0]))
            position += 2
            continue
        position += 1
        if role is None or (roles is not None and role not in roles):
            continue
        if role == times_vocab.VINTAGE and position < len(family_roles):
            continue  # V = T without vintaging: the period says it
        more = len(labels) - 4 + (1 if tally.labels[position - 1].truncated else 0)
        shown = ", ".join(labels[:4]) + (" (+%d more)" % more if more > 0 else "")
        described.append("%s%s %s" % (role, "s" if len(labels) > 1 else "", shown))
    return ", ".join(described)


def _bound_direction(tally):
    kinds = set(tally.kinds)
    if kinds == {"lower"}:
        return "lower"
    if kinds == {"upper"}:
        return "raise"
    return "revise"


def _data_name(tally):
    data = tally.symbol.family.data
    kinds = set(tally.kinds)
    side = "LO" if kinds == {"lower"} else "UP" if kinds == {"upper"} else "FX"
    return "%s(%s)" % (data, side) if "," not in data else data


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _g(value):
    return "%g" % value

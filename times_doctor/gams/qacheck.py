"""TIMES's QA_CHECK.LOG condensed: events by group and severity, fatal first, with counts.

The format comes from the TIMES source (etsap-TIMES/TIMES_model, GPLv3,
cited, not copied): ``pp_qaput.mod`` writes the banner (the model's
``%SYSTEM.TITLE%`` and ``QUALITY ASSURANCE LOG`` between rows of stars), a
group line `` *** <group description>`` before the first event of a group,
and every event as `` *NN`` where NN is the error level (``MIN(99,level)``,
two digits: 00 notice, 01 warning, up to 99 fatal); the caller then PUTs the
severity word and the message on the same line, e.g. (``pp_qack.mod``,
``ppmain.mod``, ``pp_qafs.mod``)::

     *** Inconsistent CAP_BND(UP/LO/FX) defined for process capacity
     *01 WARNING       - Lower bound set equal to upper bound,   R.T.P= SWNSW.2030.ENPS168
     *99 FATAL ERROR   -     R=REG1 P=PRC1 C=COM1
     *07 SEVERE ERROR  -     R=REG1 P=PRC1 V=2020 CG=GRP SUM=1.05000

Severity words used by the source: NOTICE, WARNING, SEVERE WARNING, ERROR
ALERT, SEVERE ERROR, FATAL ERROR.  Index fields are ``KEY=VALUE`` (``R=``,
``P=``, ``C=``, ``V=``, ``CG=``, ``Y=``, ``S=``, ``TS=``, ``REG=``,
``PRC=``, ``COM=``, ``CUR =``) or composite (``R.T.P= A.B.C``,
``(R.TSL.S)=A.B.C``), split here into their parts.

The file is read as a stream of bounded lines; counters are bounded
(tally.py).  A line that is neither banner, group, event nor blank is kept
(the first ones verbatim) and counted, never dropped.
"""

import collections
import io
import re

from times_doctor.errors import ParseError, os_reason
from times_doctor.gams.lstscan import line_blocks
from times_doctor.gams.tally import BoundedCounter, Samples

MAX_LINE_BYTES = 65536

# Severity word -> rank (higher blocks more); an unknown word ranks by level.
SEVERITY_RANKS = collections.OrderedDict([
    ("FATAL ERROR", 5), ("SEVERE ERROR", 4), ("ERROR ALERT", 3), ("ERROR", 3),
    ("SEVERE WARNING", 2), ("WARNING", 1), ("NOTICE", 0)])

# Roles of index keys, for the "most frequent" lists.
REGION_KEYS = ("R", "REG", "REGION", "ALL_REG")
PROCESS_KEYS = ("P", "PRC")
COMMODITY_KEYS = ("C", "COM", "C1", "C2")

_EVENT = re.compile(r"^\s*\*(\d{2})\s+([A-Z][A-Z]*(?: [A-Z]+)*)\s*-\s?(.*?)\s*$")
_GROUP = re.compile(r"^\s*\*\*\*(?:\s+(.*?))?\s*$")
_BANNER = re.compile(r"^\s*\*{4,}")
# KEY= VALUE: simple (R=) or composite (R.T.P=, (R.TSL.S)=); "CUR =" has a space.
_FIELD = re.compile(r"(\(?[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*\)?)\s?=\s*(\S+)")

Event = collections.namedtuple("Event", "level severity text fields group")

QaGroup = collections.namedtuple("QaGroup", "group severity rank level count message fields "
                                            "examples")
QaGroup.__doc__ = """All events of one group line with one severity.

group: the group description (" *** ..." line, "" before any); severity:
the word ("FATAL ERROR"); rank: SEVERITY_RANKS value; level: the highest NN
seen; count: events; message: the first event's text before its fields;
fields: OrderedDict key -> BoundedCounter of values; examples: the first
event lines (Samples).
"""


class QaSummary(object):
    """What a QA_CHECK.LOG says, condensed (see condense_qa_check)."""

    def __init__(self, path):
        self.path = path
        self.title = None           # the banner's model title ("TIMES -- VERSION 4.8.3 ...")
        self.lines = 0
        self.events = 0
        self.by_severity = collections.Counter()
        self.groups = collections.OrderedDict()   # (group, severity) -> _GroupTally
        self.regions = BoundedCounter()
        self.processes = BoundedCounter()
        self.commodities = BoundedCounter()
        self.unparsed = Samples()
        self.binary = None          # line number of the first line holding a NUL byte
        self.group = ""             # the group line being read

    def sorted_groups(self):
        """QaGroups, the most blocking first (rank, then level, then count)."""
        groups = [tally.frozen() for tally in self.groups.values()]
        return sorted(groups, key=lambda item: (-item.rank, -item.level, -item.count,
                                                item.group))

    def worst(self):
        """(severity word, rank) of the worst event, or (None, -1) for a clean log."""
        best = (None, -1)
        for (_, severity), tally in self.groups.items():
            if tally.rank > best[1]:
                best = (severity, tally.rank)
        return best


class _GroupTally(object):
    def __init__(self, group, severity, rank):
        self.group = group
        self.severity = severity
        self.rank = rank
        self.level = 0
        self.count = 0
        self.message = None
        self.fields = collections.OrderedDict()
        self.examples = Samples(limit=5)

    def add(self, event, raw):
        self.count += 1
        if event.level > self.level:
            self.level = event.level
        if self.message is None:
            self.message = event.text
        if self.count <= self.examples.limit:
            self.examples.add(raw.strip())
        else:
            self.examples.count += 1
        for key, value in event.fields:
            counter = self.fields.get(key)
            if counter is None:
                counter = self.fields[key] = BoundedCounter(1000)
            counter.add(value)

    def frozen(self):
        return QaGroup(self.group, self.severity, self.rank, self.level, self.count,
                       self.message or "", self.fields, self.examples)


def condense_qa_check(path):
    """Read a QA_CHECK.LOG and return its ``QaSummary``.

    Raises:
        ParseError: the file cannot be opened or read (the message names it).
    """
    summary = QaSummary(path)
    try:
        with io.open(path, "rb") as stream:
            for raw in chunked_lines(stream):
                if summary.binary is None and b"\x00" in raw:
                    summary.binary = summary.lines + 1
                _feed(summary, raw.decode("utf-8", "replace").rstrip("\r"))
    except (IOError, OSError) as error:
        raise ParseError("cannot read %s: %s" % (path, os_reason(error)))
    return summary


def chunked_lines(stream):
    """The lines of a binary stream (without line ends), read in blocks (lstscan.line_blocks),
    each cut at MAX_LINE_BYTES."""
    for block in line_blocks(stream):
        lines = block.split(b"\n")
        if block.endswith(b"\n"):
            lines.pop()
        for line in lines:
            yield line[:MAX_LINE_BYTES]


def parse_event(line, group=""):
    """The Event of one `` *NN SEVERITY - text`` line, or None."""
    match = _EVENT.match(line)
    if not match:
        return None
    level, severity, rest = match.groups()
    first = _FIELD.search(rest)
    if first is None:
        return Event(int(level), severity, " ".join(rest.split()).rstrip(",:"), [], group)
    fields = []
    for key, value in _FIELD.findall(rest, first.start()):
        if "." in key:
            fields.extend(split_field(key, value))
        else:
            fields.append((key.strip("()"), value))
    text = " ".join(rest[:first.start()].split()).rstrip(",:")
    return Event(int(level), severity, text, fields, group)


def split_field(key, value):
    """[(key, value)]: ``R.T.P``/``A.B.C`` into three pairs when the parts match, else one."""
    key = key.strip("()")
    keys = key.split(".")
    if len(keys) > 1:
        values = value.split(".")
        if len(values) == len(keys):
            return list(zip(keys, values))
    return [(key, value)]


# -- one line ------------------------------------------------------------

def _feed(summary, line):
    summary.lines += 1
    if not line.strip():
        return
    event = parse_event(line, summary.group)
    if event is not None:
        _count_event(summary, event, line)
        return
    match = _GROUP.match(line)
    if match:
        summary.group = match.group(1) or ""
        return
    if _BANNER.match(line):
        title = line.strip().strip("*").strip()
        if summary.title is None and title and "QUALITY ASSURANCE LOG" not in title:
            summary.title = title
        return
    summary.unparsed.add(line)


def _count_event(summary, event, line):
    summary.events += 1
    summary.by_severity[event.severity] += 1
    rank = SEVERITY_RANKS.get(event.severity)
    if rank is None:  # a word the source does not use today: rank it by its level
        rank = 5 if event.level >= 99 else 4 if event.level >= 10 else 1
    key = (event.group, event.severity)
    tally = summary.groups.get(key)
    if tally is None:
        tally = summary.groups[key] = _GroupTally(event.group, event.severity, rank)
    tally.add(event, line)
    for field, value in event.fields:
        upper = field.upper()
        if upper in REGION_KEYS:
            summary.regions.add(value)
        elif upper in PROCESS_KEYS:
            summary.processes.add(value)
        elif upper in COMMODITY_KEYS:
            summary.commodities.add(value)

"""Read a GAMS driver's source: its solver option statements and its ``$include`` lines.

The scan runs a copy of the model's driver in which every ``option LP=...;``
(and the other solver keys) names the profile's solver, because such a
statement would otherwise beat the ``lp=`` on the GAMS command line.  Doing
that safely needs a small lexer that knows what GAMS treats as code: ``*``
comment lines and ``$comment``, ``$ontext``/``$onecho``/``$onput`` blocks,
execution-time embedded code, enabled end-of-line and in-line comments,
quoted strings, and option statements that span lines or lose their ``;``
before the next keyword.  ``$if``/``$ifI``/``$ifE`` lines count as code
(their statement runs when the condition holds); other dollar-control
lines are left alone.  Only the text given is read, not the files it
includes.

The text is a ``str`` decoded as Latin-1 by the caller (byte-preserving),
so everything but the replaced words stays byte-identical.
"""

import collections
import re

from typing import Iterable, Iterator, Tuple  # noqa: F401  (used in type comments)

# Model types whose solver CPLEX and GUROBI can be, plus "solver" (all types).
SOLVER_OPTION_KEYS = frozenset(["lp", "mip", "rmip", "qcp", "miqcp", "rmiqcp", "solver"])

# A statement that starts with one of these ends an option statement whose
# ';' was left out (GAMS allows that before a keyword).
_STATEMENT_KEYWORDS = frozenset("""
    option options solve display abort loop if else elseif while for repeat until break
    continue execute execute_load execute_loadpoint execute_loaddc execute_unload
    execute_unloaddi execute_unloadidx put putclose puttl putpage putheader file files
    set sets singleton parameter parameters scalar scalars table tables variable variables
    positive negative free binary integer sos1 sos2 semicont semiint equation equations
    model models alias acronym acronyms embeddedcode endembeddedcode
    """.split())

# Dollar-control blocks whose content is not GAMS code: "$on..." -> "$off...".
_SKIPPED_BLOCKS = (("ontext", "offtext"), ("onecho", "offecho"), ("onput", "offput"),
                   ("onembeddedcode", "offembeddedcode"))

# Whitespace inside a line.  Explicit, because the driver is decoded as
# Latin-1 (byte-preserving) and str-regex \s would also match 0x85 and 0xa0.
_BLANK = " \t\r\f\v"
# Identifiers and numbers, with %compile_time.variables% and %1 arguments in them.
_WORD_RE = re.compile(r"(?:[A-Za-z0-9_]|%[A-Za-z0-9_.]+%|%[0-9]+)+")
_DIRECTIVE_RE = re.compile(r"\$[ \t]*([A-Za-z]+)")
_OPTION_RE = re.compile(r"option", re.IGNORECASE)
# The file name after $include/$batinclude: "quoted", 'quoted' or a bare word.
_INCLUDE_NAME_RE = re.compile(r"\"([^\"]+)\"|'([^']+)'|(\S+)")
# Execution-time embedded code (Python etc.), not GAMS: "embeddedCode" ... "endEmbeddedCode".
_EMBEDDED_START_RE = re.compile(r"[ \t]*(?:continue)?embeddedcode[sv]?\b", re.IGNORECASE)
_EMBEDDED_END_RE = re.compile(r"[ \t]*(?:end|pause)embeddedcode\b", re.IGNORECASE)
_BOMS = ("\ufeff", "\xef\xbb\xbf")


def replace_solver_values(text, solver):
    # type: (str, str) -> str
    """*text* with every GAMS ``option`` assignment of an LP/MIP solver set to *solver*.

    Handles ``option``/``options`` in any case, several comma- or
    line-separated assignments, statements spanning lines, and the keys in
    SOLVER_OPTION_KEYS.  Comments (``*`` lines, ``$ontext`` blocks, enabled
    end-of-line and in-line comments), quoted strings, echo/put/embedded-code
    blocks and all other text stay byte-identical, line endings included.
    *solver* is not checked here (``rundir.rewrite_solver_options`` does).
    """
    edits = _OptionStatementLexer(text).run()
    pieces = []
    last = 0
    for start, end in edits:
        pieces.append(text[last:start])
        pieces.append(solver)
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def include_names(lines):
    # type: (Iterable[str]) -> Iterator[Tuple[int, str]]
    """(line number from 1, file name) of each ``$include``/``$batinclude`` line.

    Lines inside ``$ontext``/``$offtext`` are skipped; the name may be
    quoted and may hold ``%variables%`` (the caller decides what to do with
    those).
    """
    in_text = False
    for number, line in enumerate(lines, 1):
        match = _DIRECTIVE_RE.match(line)
        if not match:
            continue
        name = match.group(1).lower()
        if in_text:
            in_text = name != "offtext"
            continue
        if name == "ontext":
            in_text = True
            continue
        if name not in ("include", "batinclude"):
            continue
        target = _INCLUDE_NAME_RE.match(line[match.end():].strip(_BLANK))
        if target:
            yield number, target.group(1) or target.group(2) or target.group(3)


# -- the option-statement lexer ------------------------------------------------


Token = collections.namedtuple("Token", "kind text start end")
# kind: "word" (identifier, number or %variable%), "punct" (one character),
# "string" (quoted), "nl" (end of a line), "eos" (end of a $if line, which
# ends any statement on it).


class _OptionStatementLexer(object):
    """Finds the solver values of option statements, one line at a time.

    Lines are only tokenized when they can matter (they mention "option",
    continue an option statement, or open an in-line comment), so a driver
    with megabytes of inline data costs a string search per line, not a
    token per number.
    """

    def __init__(self, text):
        self.text = text
        self.spans = []              # (start, end) of each value to replace
        # What counts as a comment at this point ($comment, $onEolCom, ...).
        self.comment_char = "*"
        self.block_end = None        # "offtext" etc. (or _EMBEDDED_END_RE) in a skipped block
        self.eol_chars = "!!"
        self.eol_enabled = False     # GAMS default: end-of-line comments off
        self.inline_open = "/*"
        self.inline_close = "*/"
        self.inline_enabled = False  # GAMS default: in-line comments off
        self.in_inline = False       # inside an in-line comment spanning lines
        # The option statement being read, if any.
        self.in_statement = False
        self.depth = 0
        self.item_start = False
        self.expect = None           # None, "=" after a solver key, "value" after its "="
        self.last = None             # the last token of the statement that is not "nl"

    def run(self):
        text = self.text
        position = 0
        while position < len(text):
            newline = text.find("\n", position)
            end = len(text) if newline < 0 else newline
            start = position
            if start == 0:
                for bom in _BOMS:
                    if text.startswith(bom):
                        start = len(bom)
                        break
            self._line(start, end)
            if self.in_statement:
                self._feed(Token("nl", "\n", end, end + 1))
            position = end + 1
        return self.spans

    # -- lines -------------------------------------------------------------

    def _line(self, start, end):
        text = self.text
        if self.block_end is _EMBEDDED_END_RE:
            if _EMBEDDED_END_RE.match(text, start, end):
                self.block_end = None
            return
        if self.block_end is not None:
            match = _DIRECTIVE_RE.match(text, start, end)
            if match and match.group(1).lower().startswith(self.block_end):
                self.block_end = None
            return
        if self.in_inline:
            self._code(start, end)
        elif text.startswith(self.comment_char, start, end):
            return
        elif text.startswith("$", start, end):
            self._dollar_line(start, end)
        elif _EMBEDDED_START_RE.match(text, start, end):
            self.block_end = _EMBEDDED_END_RE
        else:
            self._code(start, end)

    def _dollar_line(self, start, end):
        match = _DIRECTIVE_RE.match(self.text, start, end)
        if not match:
            return
        name = match.group(1).lower()
        args = self.text[match.end():end].strip(_BLANK).split()
        for opener, closer in _SKIPPED_BLOCKS:
            if name.startswith(opener):
                self.block_end = closer
                return
        if name == "comment" and args:
            self.comment_char = args[0][0]
        elif name == "oneolcom":
            self.eol_enabled = True
        elif name == "offeolcom":
            self.eol_enabled = False
        elif name == "eolcom" and args:
            self.eol_chars, self.eol_enabled = args[0][:2], True
        elif name == "oninline":
            self.inline_enabled = True
        elif name == "offinline":
            self.inline_enabled = False
        elif name == "inlinecom" and len(args) >= 2:
            self.inline_open, self.inline_close = args[0][:2], args[1][:2]
            self.inline_enabled = True
        elif name in ("if", "ifi", "ife"):
            # "$if <condition> <statement>": the statement is code.
            self._code(match.end(), end)
            if self.in_statement:
                self._feed(Token("eos", "", end, end))

    def _code(self, position, end):
        text = self.text
        if not (self.in_statement or self.in_inline
                or _OPTION_RE.search(text, position, end)
                or (self.inline_enabled and text.find(self.inline_open, position, end) >= 0)):
            return  # cannot start, continue or hide an option statement
        previous = None
        while position < end:
            if self.in_inline:
                close = text.find(self.inline_close, position, end)
                if close < 0:
                    return
                position = close + len(self.inline_close)
                self.in_inline = False
                continue
            char = text[position]
            if char in _BLANK:
                position += 1
                continue
            if self.eol_enabled and text.startswith(self.eol_chars, position, end):
                return
            if self.inline_enabled and text.startswith(self.inline_open, position, end):
                self.in_inline = True
                position += len(self.inline_open)
                continue
            if char in "'\"":
                close = text.find(char, position + 1, end)
                stop = end if close < 0 else close + 1
                token = Token("string", text[position:stop], position, stop)
            else:
                match = _WORD_RE.match(text, position, end)
                if match:
                    token = Token("word", match.group(), position, match.end())
                else:
                    token = Token("punct", char, position, position + 1)
            position = token.end
            if self.in_statement:
                self._feed(token)
            elif token.kind == "word" and token.text.lower() in ("option", "options") \
                    and not _glued_to_dot(previous, token):
                self._start_statement()
            previous = token

    # -- the option statement ----------------------------------------------

    def _start_statement(self):
        self.in_statement = True
        self.depth = 0
        self.item_start = True
        self.expect = None
        self.last = None

    def _feed(self, token):
        if token.kind == "eos":
            self.in_statement = False
            return
        if token.kind == "nl":
            # A line break separates items unless the item is unfinished ("lp =").
            if self.depth == 0 and self.last is not None and not (
                    self.last.kind == "punct" and self.last.text in "=:<>,"):
                self.item_start = True
            return
        last, self.last = self.last, token
        if self.expect == "=":
            self.expect = "value" if token.kind == "punct" and token.text == "=" else None
            if self.expect:
                return
        elif self.expect == "value":
            self.expect = None
            if token.kind == "word":
                self.spans.append((token.start, token.end))
                self.item_start = False
                return
        if token.kind == "punct":
            if token.text == ";" and self.depth == 0:
                self.in_statement = False
            elif token.text in "([":
                self.depth += 1
            elif token.text in ")]":
                if self.depth == 0:
                    self.in_statement = False  # "if(c, option lp=x)": the construct closes
                else:
                    self.depth -= 1
            self.item_start = token.text == "," and self.depth == 0
        elif token.kind == "word" and self.item_start:
            self.item_start = False
            key = token.text.lower()
            if key in _STATEMENT_KEYWORDS:
                # The ';' was left out before the next statement.
                self.in_statement = False
                if key in ("option", "options") and not _glued_to_dot(last, token):
                    self._start_statement()
            elif key in SOLVER_OPTION_KEYS:
                self.expect = "="
        else:
            self.item_start = False


def _glued_to_dot(previous, token):
    """True for ``x.option``: a word right after a '.' is not a keyword."""
    return (previous is not None and previous.kind == "punct" and previous.text == "."
            and previous.end == token.start)

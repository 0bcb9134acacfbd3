"""Option-file lines of every kind, generated from a def file, for the differential test.

Every option of the def file (and its synonyms, deprecated names, dot
options and indicator keyword) gets lines with:

* values of every kind, valid and invalid: booleans in every spelling;
  numbers as ``1``, ``1.0``, ``1e3``, ``1d-6``, ``0x10``, ``+1``, ``-0``,
  ``inf``, ``maxint``, ``maxdouble``, and around the option's own bounds
  and listed values; quoted (``"..."``, ``'...'``, broken quotes); empty;
* names in other cases, synonyms and deprecated names, misspellings;
* every separator (space, ``=``, `` = ``, tab, none, ``==``, ``:``),
  leading and trailing blanks, control characters, end-of-line comments;
* dot options (``x.lazy 1``, several on a line, unknown suffixes),
  indicator lines (good and broken indices), ``nobounds`` (which changes
  how later lines are read) and ``readfile``;
* repeated settings, comments, blank lines and junk.

Lines are grouped into small files so that lines can act on each other
(``nobounds``, repeated settings) the way they do in a real file.
``readfile`` lines name files that do not exist (relative or absolute):
whether GAMS can open an existing one depends on the run's folder, not on
the line.
"""


from times_doctor.solvers import optdef

BOOLEAN_WORDS = ["0", "1", "yes", "no", "on", "off", "true", "false", "y", "n", "t", "f",
                 "YES", "No", "ON", "Off", "TRUE", "False", "Y", "N", "T", "F", "enabled",
                 "2", "-1", "+1", "01", "00", "1.0", "0.0", "x"]
NUMBERS = ["0", "1", "-1", "+1", "-0", "+0", "00", "01", "08", "1.0", "1.", ".5", "0.5", "-.5",
           ".", "-.", "+.", ".e5", "1e3", "1E3", "1e+3", "1e-3", "1d3", "1D-6", "1d-6",
           "1.5d2", "1e", "1e+", "e5", "d0", "-", "+", "0x10", "0X10", "0x", "0xg", "-0x10",
           "+0x10", "0x7fffffff", "0x80000000", "-0x80000000", "0xffffffff", "0x1e1",
           "0b1", "0o7", "1_000", "1,000", "inf", "-inf", "+inf", "INF", "infinity", "nan",
           "NaN", "maxint", "minint", "MAXINT", "-maxint", "maxdouble", "mindouble",
           "MaxDouble", "-maxdouble", "eps", "EPS", "-eps", "na", "undf", "1e10", "2147483647",
           "2147483648", "-2147483648", "-2147483649", "2147483647.0", "2147483647.5",
           "2.1e9", "2.2e9", "1e298", "1e299", "1.0000001e299", "1e300", "1e308", "1e309",
           "-1e309", "1e-400", "1e-99999", "1e99999", "9999999999999999999", "1.5", "2.0",
           "3e-1", "0.0", "-0.0", "1e1e1", "1.2.3", "--1", "1/2", "4;", "(4)", "4 5",
           "0.1 0.2", "1e0", "1.0e0", "0.0000001e7", "25e-1"]
WORDS = ["", "a", "auto", "nono", "AUTO", "x y", "a!b", "a*b", "a=b", "=a", "=", ":a", ":",
         ";4", "pool.gdx", "C:\\temp\\x.lp", "a\tb", "\u00e9", "\udce9"]  # \udce9: the byte 0xE9 of a file that is not UTF-8
QUOTES = ['"%s"', "'%s'", '" %s "', '"%s', '%s"', '"%s" x', '""', '"%s"!c']
SEPARATORS = [" ", " ", " ", "=", " = ", "\t", "\t=\t", "  ", "==", " :", ":", "", ",", "-"]
TRAILERS = ["", "", "", " ", "\t", "   ", " ! comment", "!c", " !", " * x", " # x", "\r",
            "\x01", "\x00", "\x7f", " \xa0", "\x0c"]
PREFIXES = ["", "", "", " ", "\t", "  ", "\x0c", "\r", "*", " *", "!", "\ufeff"]
JUNK = ["", "*", "* a comment", "**", "   ", "\t", "4 lpmethod", "=", "= 4", "#lpmethod 9",
        "!only a comment", "_x 1", "1x.lazy 1", ".lazy 1", "x..lazy 1", "x. lazy 1",
        "x .lazy 1", "\x00", "\xef\xbb\xbf", "lp\x00method 4"]
INDEX_SETS = ["", "(i)", "(i,j)", "(j,i)", "(I)", "('a')", '("a")', "(i,'a')", "(j)",
              "()", "(i,)", "(*)", "(i j)", "(i", "[i]", "( i )", "(i1)", "(i.j)", "(i,,j)"]


def files_for(defs, rng, line_count, lines_per_file=12):
    """(files, lines): *line_count* generated lines grouped into files.

    files: each file's bytes as the scan writes it (lines joined with
    "\\n", UTF-8, surrogate escapes back to their bytes); lines: the
    lines of each file (for optdef).
    """
    names = _option_names(defs)
    files, grouped = [], []
    while sum(len(lines) for lines in grouped) < line_count:
        lines = [random_line(defs, names, rng) for _ in range(rng.randint(1, lines_per_file))]
        if rng.random() < 0.15:
            lines.insert(rng.randrange(len(lines)), "nobounds %s" % rng.choice(
                ["1", "0", "no", "off", "x", "00", '"0"', "yes", "OFF"]))
        if rng.random() < 0.15:
            # A setting repeated further down.
            lines.append(rng.choice(lines))
        if any(line.lower().lstrip().startswith("readfile") for line in lines):
            # GAMS's message for a file it cannot open names no line: alone, it is line 1.
            lines = [line for line in lines if line.lower().lstrip().startswith("readfile")][:1]
        grouped.append(lines)
        files.append(("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"))
    return files, grouped


def random_line(defs, names, rng):
    pick = rng.random()
    if pick < 0.05:
        return rng.choice(JUNK)
    if pick < 0.12:
        return _dot_line(defs, rng)
    if pick < 0.18:
        return _indicator_line(defs, rng)
    if pick < 0.20:
        return "readfile %s" % rng.choice(["more.opt", "/nonexistent/more.opt", "", '"x y"'])
    name = _spelling(rng.choice(names), defs, rng)
    option = defs.resolve(name)
    value = _value(option, rng) if option is not None else rng.choice(NUMBERS + WORDS)
    return "%s%s%s%s%s" % (rng.choice(PREFIXES) if rng.random() < 0.15 else "", name,
                           rng.choice(SEPARATORS) if rng.random() < 0.4 else " ", value,
                           rng.choice(TRAILERS) if rng.random() < 0.35 else "")


def _option_names(defs):
    names = [option.name for option in defs.options.values()]
    names += list(defs.synonyms) + sorted(defs.deprecated)
    return names


def _spelling(name, defs, rng):
    pick = rng.random()
    if pick < 0.15:
        return name.upper()
    if pick < 0.25:
        return "".join(char.upper() if rng.random() < 0.5 else char for char in name)
    if pick < 0.30 and len(name) > 2:
        at = rng.randrange(len(name))
        return name[:at] + name[at + 1:]  # a misspelling
    if pick < 0.32:
        return name + rng.choice(["_", "1", "x", "-x", ".x", "$"])
    return name


def _value(option, rng):
    pick = rng.random()
    if pick < 0.08:
        inner = rng.choice(_typed_values(option) + ["1", "yes", "a b"])
        return rng.choice(QUOTES).replace("%s", inner)
    if pick < 0.2:
        return rng.choice(BOOLEAN_WORDS)
    if pick < 0.55:
        return rng.choice(NUMBERS)
    if pick < 0.65:
        return rng.choice(WORDS)
    return rng.choice(_typed_values(option))


def _typed_values(option):
    """Values aimed at *option*: its listed values, its bounds and just outside them."""
    values = list(option.values)
    values += [each.upper() for each in option.values if each.isalpha()]
    for token in (option.lower, option.upper):
        if token is None:
            continue
        values.append(token)
        number = optdef.bound_value(token)
        if number is not None and abs(number) < 1e298:
            for delta in (-1, 1):
                values.append(repr(number + delta))
                values.append("%d" % (number + delta) if abs(number) < 1e15 else repr(number))
            values.append(repr(number * 1.0000001 if number else 1e-9))
    return values or ["1", "0"]


def _dot_line(defs, rng):
    suffixes = sorted(defs.dot_options) + ["unknown", "lpmethod", ""]
    parts = []
    for _ in range(rng.randint(1, 3)):
        suffix = rng.choice(suffixes)
        if rng.random() < 0.2:
            suffix = suffix.upper()
        option = defs.dot_options.get(suffix.lower())
        value = _value(option, rng) if option is not None else rng.choice(NUMBERS)
        parts.append("%s.%s%s%s" % (rng.choice(["x", "X", "flow", "x_1", "lpmethod", "e1"]),
                                    suffix, rng.choice([" ", "=", " = ", "\t", "", "!"]),
                                    value))
    line = rng.choice([" ", "  ", "\t"]).join(parts)
    return line + (rng.choice(TRAILERS) if rng.random() < 0.3 else "")


def _indicator_line(defs, rng):
    keyword = sorted(defs.indicators)[0] if defs.indicators else "indic"
    keyword = keyword.upper() if rng.random() < 0.2 else keyword
    equation = rng.choice(["c", "eq1", "C", "c_1", "1c", ""]) + rng.choice(INDEX_SETS)
    variable = rng.choice(["b", "y", "B", "b_2", "", "1b"]) + rng.choice(INDEX_SETS)
    dollar = rng.choice(["$", " $ ", "$$", "", "$"])
    value = rng.choice(BOOLEAN_WORDS + ['"1"', "'1'", "", "1 lpmethod 4", "1 x.lazy 1",
                                        "0 1", "1 !c", ".l"])
    separator = rng.choice([" ", " ", "=", " = ", "\t", ""])
    lead = rng.choice([" ", " ", "\t", "=", "!"])
    return "%s%s%s%s%s%s%s" % (keyword, lead, equation, dollar, variable, separator, value)

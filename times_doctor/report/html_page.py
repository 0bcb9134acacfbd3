"""scan_report.html: the profiles of one scan compared at a glance, as one string.

Pure: ``render(report)`` takes plain data (what report_page.load_report
gathers from the state file, the CSV, the series files and the listings)
and returns one self-contained page: inline CSS and SVG, no script, no
external address, printable, legible on a phone.  Colours never carry
meaning alone: every status, phase and run also has its name in text.
"""

import html
import math

from times_doctor.report import ranking as ranking_mod
from times_doctor.report import diagnosis as report_diagnosis, svg as report_svg
from times_doctor.run import usage
from times_doctor.gams.lst import model_status_is_optimal
# The threshold and the warnings live with the diagnosis (gams/rangestats.py).
from times_doctor.gams.rangestats import MATRIX_RATIO_LIMIT, range_warnings
from times_doctor.gams.rangestats import fmt as _fmt
from times_doctor.run.series import phase_spans
from times_doctor.states import LABELS, RunStatus, web_colour

# Relative objective difference above which optimal profiles "disagree".
DEFAULT_TOLERANCE = 1e-6

# Statuses whose bar ends early (drawn hatched).
STOPPED_EARLY = (RunStatus.CANCELLED, RunStatus.INTERRUPTED, RunStatus.TIMEOUT,
                 RunStatus.CAPPED)

# Parser phase -> (label, colour), in the order the legend lists them.
PHASES = (
    ("", "GAMS: compile, generate", "#b0bec5"),
    ("presolve", "presolve", "#8d6e63"),
    ("dual simplex", "dual simplex", "#1e88e5"),
    ("primal simplex", "primal simplex", "#3949ab"),
    ("simplex", "simplex", "#5c6bc0"),
    ("barrier", "barrier", "#e53935"),
    ("crossover", "crossover", "#fb8c00"),
    ("sifting", "sifting", "#00897b"),
    ("concurrent", "concurrent", "#8e24aa"),
    ("mip", "MIP (branch and bound)", "#43a047"),
    ("done", "GAMS: after the solve", "#cfd8dc"),
)
_PHASE_INFO = dict((phase, (label, colour)) for phase, label, colour in PHASES)

CSS = """
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#212121;
margin:0 auto;padding:12px;max-width:1100px;-webkit-print-color-adjust:exact;
print-color-adjust:exact}
h1{font-size:1.35em;margin:.2em 0 .4em;overflow-wrap:anywhere}
h2{font-size:1.15em;margin:1.4em 0 .5em;border-bottom:1px solid #ccc}
h3{font-size:1em;margin:1em 0 .3em}
dl.meta{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:2px 12px;margin:0}
dl.meta dt{font-weight:600}dl.meta dd{margin:0;overflow-wrap:anywhere}
.note{background:#fff8e1;border-left:4px solid #f9a825;padding:6px 10px;margin:6px 0}
.warn{background:#ffebee;border-left:4px solid #c62828;padding:6px 10px;margin:6px 0}
.ok{background:#e8f5e9;border-left:4px solid #2e7d32;padding:6px 10px;margin:6px 0}
table{border-collapse:collapse;width:100%}
th,td{padding:4px 8px;border-bottom:1px solid #e0e0e0;text-align:left;vertical-align:top;
overflow-wrap:anywhere}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.best{background:#e8f5e9}
tr.contended{background:#fff8e1}
code{overflow-wrap:anywhere}
.badge{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;font-weight:600;
font-size:.9em}
.tag{display:inline-block;border:1px solid #2e7d32;color:#1b5e20;border-radius:3px;
padding:0 4px;font-size:.8em;margin-left:4px}
.tag.kept{border-color:#616161;color:#424242}
.bars{margin:0;padding:0;list-style:none}
.bars li{margin:0 0 10px}
.bar{display:flex;height:18px;background:#f5f5f5;border:1px solid #e0e0e0}
.seg{height:100%;min-width:1px}
.seg.stopped{background-image:repeating-linear-gradient(45deg,rgba(255,255,255,.55) 0 4px,
transparent 4px 8px)}
.bartext{font-size:.85em;color:#424242;overflow-wrap:anywhere}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;margin:6px 0;padding:0;list-style:none;
font-size:.85em}
.legend li{display:flex;align-items:center;gap:5px}
.sw{display:inline-block;width:14px;height:12px;border:1px solid #9e9e9e}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,460px),1fr));gap:14px}
figure{margin:0;min-width:0}figcaption{font-weight:600;font-size:.95em}
svg.chart{width:100%;height:auto;display:block}
svg.chart text{font-size:13px;fill:#424242}
@media (max-width:640px){
body{padding:8px;font-size:14px}
table.summary thead{display:none}
table.summary tr{display:block;border:1px solid #e0e0e0;margin:0 0 8px;padding:2px 0}
table.summary td{display:flex;justify-content:space-between;gap:10px;border:0;text-align:right}
table.summary td::before{content:attr(data-label);font-weight:600;text-align:left}
svg.chart text{font-size:20px}
}
@media print{body{max-width:none;font-size:11pt}figure,li,tr{break-inside:avoid}}
"""


def render(report):
    """The whole page for *report* (a dict; see report_page.load_report).

    Keys: scan (dict: model, driver, run_dir, out_dir, gams, host,
    started_at, options dict), rows (CSV row dicts, plus "_lst"),
    diagnoses (name -> diagnosis.Diagnosis, optional) and diagnose_command, series
    (name -> list of points, or None when absent), notes (strings: what is
    missing), generated_at (str), tolerance (float, optional), best_name
    and best_kind ("fastest optimal" / "best so far"), kept (names of runs
    a resumed scan carried over from scan["resumed_from"]), ranking (a
    ranking.Ranking of the rows; optional) and answer (dict: trustworthy,
    best_file, use_line; optional).
    """
    scan = report.get("scan") or {}
    rows = report.get("rows") or []
    series = report.get("series") or {}
    kept = report.get("kept") or []
    title = "times-doctor: %s" % (scan.get("model") or "scan report")
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             "<title>%s</title><style>%s</style></head><body>" % (esc(title), CSS),
             "<h1>%s</h1>" % esc(title),
             _header(scan, report.get("generated_at"), kept)]
    for note in report.get("notes") or []:
        parts.append('<p class="note">Note: %s</p>' % esc(note))
    parts.append(_summary(rows, report, kept))
    parts.append(_ranking(report))
    parts.append(report_diagnosis.render_section(report.get("diagnoses") or {},
                                                 report.get("diagnose_command") or ""))
    parts.append(_time_bars(rows, series, kept))
    parts.append(_timing(rows))
    parts.append(_convergence(rows, series))
    parts.append(_numerics(rows))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def esc(text):
    """HTML-escape any value (None as empty), quotes too: it also fills attributes."""
    return html.escape("" if text is None else str(text))


def objective_spread(rows, tolerance=DEFAULT_TOLERANCE):
    """(relative spread or None, optimal profiles disagree: bool) over completed rows.

    Relative spread = (max - min) / max(|max|, |min|, 1): the 1 keeps an
    objective near zero from turning a tiny difference into a huge ratio.
    """
    done = [(row, _float(row.get("objective"))) for row in rows
            if row.get("status") == RunStatus.COMPLETED]
    done = [(row, value) for row, value in done if value is not None]
    if len(done) < 2:
        return None, False
    spread = _relative([value for _, value in done])
    optimal = [value for row, value in done if model_status_is_optimal(row.get("model_status"))]
    disagree = len(optimal) >= 2 and _relative(optimal) > tolerance
    return spread, disagree


# -- sections ------------------------------------------------------------

def _header(scan, generated_at, kept):
    items = [("Model", scan.get("model")), ("Driver", scan.get("driver")),
             ("Run folder", scan.get("run_dir")), ("Output folder", scan.get("out_dir")),
             ("GAMS", scan.get("gams")), ("Host", scan.get("host")),
             ("Scan started", scan.get("started_at")), ("Page written", generated_at)]
    if scan.get("resumed_from"):
        items.append(("Resumed from", "scan %s; kept from it (completed there, inputs "
                      "unchanged, not run again): %s" % (
                          scan["resumed_from"], ", ".join(kept) or "none")))
    options = scan.get("options") or {}
    if options:
        items.append(("Options", "; ".join("%s: %s" % (key, _option(value))
                                           for key, value in sorted(options.items()))))
    body = "".join("<dt>%s</dt><dd>%s</dd>" % (esc(key), esc(value if value not in (None, "")
                                                              else "(not recorded)"))
                   for key, value in items)
    return '<section id="scan"><dl class="meta">%s</dl></section>' % body


def _summary(rows, report, kept):
    head = ("Profile", "Status", "Model status", "Objective", "Time (s)", "Iterations",
            "GAMS rc")
    best = report.get("best_name")
    lines = ['<section id="summary"><h2>Summary</h2>',
             '<table class="summary"><thead><tr>%s</tr></thead><tbody>'
             % "".join("<th>%s</th>" % esc(h) for h in head)]
    for row in rows:
        name = row.get("profile", "")
        is_best = best is not None and ranking_mod.profile_of(row) == best
        rc = row.get("gams_rc", "")
        rc_text = "%s (%s)" % (rc, row.get("gams_rc_meaning")) if rc else row.get(
            "gams_rc_meaning", "")
        cells = [
            (esc(name) + (' <span class="tag">%s</span>' % esc(report.get("best_kind", "best"))
                          if is_best else "") + (_KEPT_TAG if name in kept else ""), ""),
            (_badge(row.get("status", "")), ""),
            (esc(row.get("model_status", "")), ""),
            (esc(row.get("objective", "")), "num"),
            (esc(row.get("runtime_seconds", "")), "num"),
            (esc(row.get("iterations", "")), "num"),
            (esc(rc_text), ""),
        ]
        lines.append('<tr class="run%s" data-run="%s">%s</tr>' % (
            " best" if is_best else "", esc(name),
            "".join('<td data-label="%s"%s>%s</td>' % (
                esc(label), ' class="%s"' % css if css else "", html_text)
                for label, (html_text, css) in zip(head, cells))))
    lines.append("</tbody></table>")
    if best:
        lines.append('<p class="ok" id="best">%s: <strong>%s</strong></p>' % (
            esc(report.get("best_kind", "best").capitalize()), esc(best)))
    else:
        lines.append('<p class="note" id="best">No profile reached an optimal model status, '
                     'and none holds a solution.</p>')
    tolerance = report.get("tolerance", DEFAULT_TOLERANCE)
    spread, disagree = objective_spread(rows, tolerance)
    if spread is not None:
        css = "warn" if disagree else "ok"
        text = "Objective spread across completed profiles: %s (relative)." % _fmt(spread, 3)
        if disagree:
            text = ("Warning: optimal profiles disagree on the objective by %s (relative), more "
                    "than the tolerance %s. Two optimal solutions of one model should have the "
                    "same objective: this points to a numerics problem (see Numerics)."
                    % (_fmt(spread, 3), _fmt(tolerance)))
        lines.append('<p class="%s" id="spread">%s</p>' % (css, esc(text)))
    lines.append("</section>")
    return "\n".join(lines)


def _ranking(report):
    """Which profile is best: the ranked profiles, the verdict, what it rests on, the answer."""
    ranked = report.get("ranking")
    if ranked is None or not (ranked.entries or ranked.capped):
        return ""
    answer = report.get("answer") or {}
    head = ("Rank", "Profile", "Wall (s)", "Range (s)", "Runs", "Timed")
    lines = ['<section id="ranking"><h2>Which profile is best</h2>',
             "<p>Each profile's wall time is the median of its runs that completed with an "
             "optimal model status; profiles re-run alone (--confirm) are ranked on those "
             "runs, ahead of the others.</p>",
             '<table class="summary"><thead><tr>%s</tr></thead><tbody>'
             % "".join("<th>%s</th>" % esc(h) for h in head)]
    for index, entry in enumerate(ranked.entries):
        cells = (str(index + 1), entry.profile, ranking_mod.seconds_text(entry.median),
                 "%s-%s" % (ranking_mod.seconds_text(entry.low), ranking_mod.seconds_text(entry.high))
                 if len(entry.times) > 1 else "", str(len(entry.times)),
                 ranking_mod.basis_text(entry))
        lines.append('<tr data-profile="%s">%s</tr>' % (esc(entry.profile), _cells(head, cells)))
    for name, reason in ranked.capped.items():
        lines.append('<tr data-profile="%s">%s</tr>' % (esc(name), _cells(
            head, ("-", name, "", "", "", "capped: %s" % reason))))
    lines.append("</tbody></table>")
    for kind, text in ranking_mod.verdict_lines(ranked, answer.get("trustworthy")):
        lines.append('<p class="%s" data-kind="verdict">%s</p>' % (kind, esc(text)))
    if answer.get("best_file"):
        lines.append('<p class="ok" id="best-file">Best option file: <code>%s</code>%s</p>' % (
            esc(answer["best_file"]), ". Use it in the run folder: <code>%s</code>"
            % esc(answer["use_line"]) if answer.get("use_line") else ""))
    lines.append("</section>")
    return "\n".join(lines)


def _timing(rows):
    """Per run: where its wall time went, what it cost, and whether it got the CPU it asked for."""
    head = ("Run", "Wall (s)", "Solver (s)", "GAMS (s)", "CPU (s)", "Deterministic work",
            "CPU share", "Load", "Contended", "Trial", "Seed")
    body = []
    for row in rows:
        if not any(row.get(column) for column in ("solver_seconds", "cpu_seconds", "cpu_share")):
            continue
        work = ("%s ticks" % row["det_ticks"] if row.get("det_ticks") else
                "%s work units" % row["work_units"] if row.get("work_units") else "")
        share = _float(row.get("cpu_share"))
        load = row.get("load_avg") or ""
        if load and row.get("cpus"):
            load += " on %s CPUs" % row["cpus"]
        contended = row.get("contended") or ""
        if row.get("exclusive_node") == "yes":
            contended = (contended + ", " if contended else "") + "exclusive node"
        cells = (row.get("profile", ""), row.get("runtime_seconds", ""),
                 row.get("solver_seconds", ""), row.get("gams_seconds", ""),
                 row.get("cpu_seconds", ""), work,
                 "%d %%" % round(share * 100) if share is not None else "", load, contended,
                 row.get("trial") or "", row.get("seed") or "")
        body.append('<tr data-run="%s"%s>%s</tr>' % (
            esc(row.get("profile")), ' class="contended"' if row.get("contended") == "yes"
            else "", _cells(head, cells)))
    if not body:
        return ""
    lines = ['<section id="timing"><h2>Timing</h2>',
             "<p>Wall: the run's own clock (pauses not counted). Solver: the listing's RESOURCE "
             "USAGE. GAMS: wall minus solver (compilation, generation, the listing). CPU: the "
             "run's whole process tree. Deterministic work: CPLEX ticks or Gurobi work units, "
             "the same for the same work however loaded the machine. CPU share: of the time "
             "the run's threads were ready to run, how much they got; below %d %% the run is "
             "contended, and its times say as much about the other work as about the profile."
             "</p>" % round(usage.CONTENDED_BELOW_SHARE * 100),
             '<table class="summary"><thead><tr>%s</tr></thead><tbody>%s</tbody></table>'
             % ("".join("<th>%s</th>" % esc(h) for h in head), "".join(body)),
             "</section>"]
    return "\n".join(lines)


def _cells(head, cells):
    return "".join('<td data-label="%s">%s</td>' % (esc(label), esc(text))
                   for label, text in zip(head, cells))


def _time_bars(rows, series, kept):
    runtimes = [_float(row.get("runtime_seconds")) or 0.0 for row in rows]
    longest = max(runtimes + [0.0])
    lines = ['<section id="time"><h2>Time per profile</h2>']
    if longest <= 0:
        lines.append('<p class="note">No run recorded a time.</p></section>')
        return "\n".join(lines)
    lines.append('<p>Bars share one scale: the longest run, %s s, is the full width. Hatched '
                 'segments end early (cancelled, interrupted, timed out or capped). Phases are seen '
                 'at each read of the log (about once a second), so a phase shorter than '
                 'that is counted in its neighbour.</p>' % _fmt(longest))
    seen = set()
    lines.append('<ul class="bars">')
    for row, runtime in zip(rows, runtimes):
        name = row.get("profile", "")
        status = row.get("status", "")
        points = series.get(name)
        spans = phase_spans(points, runtime) if points else (
            [("", 0.0, runtime)] if runtime else [])
        stopped = status in STOPPED_EARLY
        segs, words = [], []
        for phase, start, end in spans:
            label, colour = _PHASE_INFO.get(phase, (phase, "#9e9e9e"))
            seen.add(phase)
            segs.append('<span class="seg%s" data-phase="%s" style="width:%.3f%%;background:%s" '
                        'title="%s %s s"></span>' % (
                            " stopped" if stopped else "", esc(phase),
                            100.0 * (end - start) / longest, colour, esc(label),
                            _fmt(end - start)))
            words.append("%s %s s" % (label, _fmt(end - start)))
        ending = "%s at %s s" % (LABELS.get(status, status).lower(), _fmt(runtime))
        if name in kept:
            ending += " in the earlier scan (kept)"
        if not points:
            words.append("no progress series: phases unknown")
        elif all(phase in ("", "done") for phase, _, _ in spans):
            words.append("no solver phase seen: the solve fell between two reads of the log")
        lines.append('<li data-run="%s"><div><strong>%s</strong> %s%s</div>'
                     '<div class="bar" role="img" aria-label="%s">%s</div>'
                     '<div class="bartext">%s</div></li>' % (
                         esc(name), esc(name), _badge(status),
                         _KEPT_TAG if name in kept else "", esc(", ".join(words)),
                         "".join(segs), esc("; ".join(words) + ". " + ending.capitalize())))
    lines.append("</ul>")
    lines.append('<ul class="legend" id="phase-legend">%s</ul>' % "".join(
        '<li><span class="sw" style="background:%s"></span>%s</li>' % (colour, esc(label))
        for phase, label, colour in PHASES if phase in seen))
    lines.append("</section>")
    return "\n".join(lines)


def _convergence(rows, series):
    names = [row.get("profile", "") for row in rows]
    end = max([_float(row.get("runtime_seconds")) or 0.0 for row in rows] +
              [points[-1]["t"] for points in series.values() if points] + [0.0])
    lines = ['<section id="convergence"><h2>Convergence</h2>']
    charts = []
    empty = []
    for chart in report_svg.CHARTS:
        lines_by_run = report_svg.chart_lines(chart, names, series)
        if not any(points for _, points in lines_by_run):
            empty.append(chart.title)
            continue
        charts.append(report_svg.render_chart(chart, lines_by_run, end, names))
    if charts:
        lines.append("<p>One chart per measure, every run on one time axis (seconds of the "
                     "run's own clock; pauses do not count).</p>")
        lines.append('<ul class="legend" id="run-legend">%s</ul>' % "".join(
            '<li>%s%s</li>' % (report_svg.swatch(index), esc(name))
            for index, name in enumerate(names)))
        lines.append('<div class="charts">%s</div>' % "".join(charts))
    else:
        lines.append('<p class="note">No run logged a measure to chart.</p>')
    if empty and charts:
        lines.append("<p>Not logged by any run: %s.</p>" % esc(", ".join(empty)))
    missing = [name for name in names if not series.get(name)]
    if missing:
        lines.append('<p class="note">No progress series for: %s.</p>' % esc(", ".join(missing)))
    lines.append("</section>")
    return "\n".join(lines)


def _numerics(rows):
    head = ("Profile", "Matrix min", "Matrix max", "Ratio", "RHS min", "RHS max",
            "Bound min", "Bound max")
    lines = ['<section id="numerics"><h2>Numerics</h2>',
             "<p>Range statistics of the model GAMS generated (absolute non-zero finite "
             "values, from the listing). Solvers work best when coefficients stay within "
             "about %s of each other.</p>" % _fmt(MATRIX_RATIO_LIMIT)]
    body = []
    warned = []
    for row in rows:
        lst = row.get("_lst")
        if lst is None:
            continue
        ratio = (lst.matrix_max / lst.matrix_min if lst.matrix_min and lst.matrix_max
                 else None)
        values = (lst.matrix_min, lst.matrix_max, ratio, lst.rhs_min, lst.rhs_max,
                  lst.bound_min, lst.bound_max)
        body.append('<tr data-run="%s"><td data-label="Profile">%s</td>%s</tr>' % (
            esc(row.get("profile")), esc(row.get("profile")), "".join(
                '<td class="num" data-label="%s">%s</td>' % (esc(label), esc(
                    _fmt(value) if value is not None else "NA"))
                for label, value in zip(head[1:], values))))
        for warning in range_warnings(lst):
            if warning not in warned:
                warned.append(warning)
    if not body:
        lines.append('<p class="note">No listing with range statistics.</p></section>')
        return "\n".join(lines)
    lines.append('<table class="summary"><thead><tr>%s</tr></thead><tbody>%s</tbody></table>'
                 % ("".join("<th>%s</th>" % esc(h) for h in head), "".join(body)))
    for warning in warned:
        lines.append('<p class="warn">Warning: %s.</p>' % esc(warning))
    if not warned:
        lines.append('<p class="ok">The ranges are within the usual limits.</p>')
    lines.append("</section>")
    return "\n".join(lines)


# -- helpers -------------------------------------------------------------

# A resumed scan's run carried over from the earlier scan (scan/resume.py).
_KEPT_TAG = (' <span class="tag kept" title="completed in the earlier scan, inputs unchanged: '
             'not run again">kept</span>')


def _badge(status):
    return '<span class="badge" style="background:%s">%s</span>' % (
        web_colour(status)[0], esc(LABELS.get(status, status or "unknown")))


def _relative(values):
    low, high = min(values), max(values)
    return (high - low) / max(abs(high), abs(low), 1.0)


def _float(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if not (math.isinf(value) or math.isnan(value)) else None


def _option(value):
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value) or "(none)"
    if value is None or value == "":
        return "(none)"
    return str(value)

"""The report's convergence charts: inline SVG, one per measure, pure functions.

Every run has a colour *and* a dash pattern (so a printout in grey or a
reader who cannot tell red from green still tells the lines apart), and the
legend names each run next to its sample line.  Infeasibilities,
complementarity and the MIP gap are drawn on a log10 scale: they fall by
orders of magnitude, and only a log axis shows the last ones.
"""

import collections
import html
import math

Chart = collections.namedtuple("Chart", "key title log value")

# Colours (Okabe-Ito, distinguishable with the common colour-vision
# deficiencies) and dash patterns, combined so 8 x 4 runs stay distinct.
RUN_COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000",
               "#f0e442")
RUN_DASHES = ("", "6 3", "2 3", "8 3 2 3")

WIDTH, HEIGHT = 560, 260
LEFT, RIGHT, TOP, BOTTOM = 74, 12, 10, 44


def _key(name):
    return lambda point: point.get(name)


def _complementarity(point):
    """Gurobi prints it; for CPLEX the relative primal-dual gap plays its part."""
    if point.get("compl") is not None:
        return point["compl"]
    if point.get("phase") != "barrier":
        return None
    primal, dual = point.get("primal_obj"), point.get("dual_obj")
    if primal is None or dual is None:
        return None
    return abs(primal - dual) / (1.0 + abs(primal))


def _gap_percent(point):
    gap = point.get("mip_gap")
    return None if gap is None else 100.0 * gap


CHARTS = (
    Chart("objective", "Objective (the solver's latest: simplex, barrier primal, MIP "
          "incumbent, final)", False, _key("objective")),
    Chart("primal_obj", "Primal objective (simplex, barrier)", False, _key("primal_obj")),
    Chart("dual_obj", "Dual objective (simplex, barrier)", False, _key("dual_obj")),
    Chart("primal_inf", "Primal infeasibility (log scale)", True, _key("primal_inf")),
    Chart("dual_inf", "Dual infeasibility (log scale)", True, _key("dual_inf")),
    Chart("compl", "Barrier complementarity, or relative primal-dual gap (log scale)", True,
          _complementarity),
    Chart("mip_gap", "MIP gap, % (log scale)", True, _gap_percent),
    Chart("incumbent", "MIP incumbent (best integer solution)", False, _key("incumbent")),
)


def chart_lines(chart, names, series):
    """[(name, [(t, value), ...])] for every run, in order (empty where none)."""
    result = []
    for name in names:
        points = []
        for point in series.get(name) or []:
            value = chart.value(point)
            if value is None or (chart.log and value <= 0):
                continue
            points.append((point["t"], value))
        result.append((name, points))
    return result


def swatch(index):
    """A short sample of run *index*'s line, for the legend."""
    return ('<svg width="30" height="10" aria-hidden="true"><line x1="1" y1="5" x2="29" y2="5" '
            'stroke="%s" stroke-width="2.5"%s/></svg>' % _stroke(index))


def render_chart(chart, lines_by_run, end_seconds, names):
    """One <figure> with an SVG chart; *end_seconds* is the shared time axis's end."""
    values = [value for _, points in lines_by_run for _, value in points]
    low, high = min(values), max(values)
    if chart.log:
        low_exp = int(math.floor(math.log10(low)))
        high_exp = int(math.ceil(math.log10(high)))
        if high_exp == low_exp:
            high_exp += 1
        y_low, y_high = float(low_exp), float(high_exp)
        y_ticks = [(float(e), "1e%d" % e) for e in _decades(low_exp, high_exp)]
        scale = math.log10
    else:
        y_low, y_high, ticks = _nice_range(low, high)
        y_ticks = [(tick, _tick_label(tick, ticks[1] - ticks[0])) for tick in ticks]
        scale = float
    x_end = end_seconds if end_seconds > 0 else 1.0
    x_ticks = _nice_range(0.0, x_end)[2]
    x_step = x_ticks[1] - x_ticks[0]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t):
        return LEFT + plot_w * min(max(t / x_end, 0.0), 1.0)

    def y(value):
        fraction = (scale(value) - y_low) / (y_high - y_low)
        return TOP + plot_h * (1.0 - min(max(fraction, 0.0), 1.0))

    parts = ['<figure data-chart="%s"><figcaption>%s</figcaption>' % (chart.key, chart.title),
             '<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s">'
             % (WIDTH, HEIGHT, chart.title),
             '<rect x="%d" y="%d" width="%d" height="%d" fill="#fff" stroke="#bdbdbd"/>'
             % (LEFT, TOP, plot_w, plot_h)]
    for value, label in y_ticks:
        pos = TOP + plot_h * (1.0 - (value - y_low) / (y_high - y_low))
        parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eeeeee"/>'
                     '<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s'
                     '</text>' % (LEFT, pos, WIDTH - RIGHT, pos, LEFT - 5, pos, label))
    for tick in x_ticks:
        if tick > x_end * 1.0001:
            continue
        pos = x(tick)
        parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eeeeee"/>'
                     '<text x="%.1f" y="%d" text-anchor="middle">%s</text>'
                     % (pos, TOP, pos, TOP + plot_h, pos, TOP + plot_h + 17,
                        _tick_label(tick, x_step)))
    parts.append('<text x="%d" y="%d" text-anchor="middle">seconds</text>'
                 % (LEFT + plot_w // 2, HEIGHT - 4))
    for name, points in lines_by_run:
        if not points:
            continue
        index = names.index(name)
        colour, dash = _stroke(index)
        coords = " ".join("%.1f,%.1f" % (x(t), y(v)) for t, v in points)
        label = html.escape(name)
        parts.append('<g data-run="%s"><title>%s</title>' % (label, label))
        if len(points) > 1:
            parts.append('<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>'
                         % (colour, dash, coords))
        last_t, last_v = points[-1]
        parts.append('<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/></g>'
                     % (x(last_t), y(last_v), colour))
    parts.append("</svg></figure>")
    return "".join(parts)


def _stroke(index):
    """(colour, dash attribute) of run *index*: 32 distinct pairs before one repeats."""
    colour = RUN_COLOURS[index % len(RUN_COLOURS)]
    dash = RUN_DASHES[(index + index // len(RUN_COLOURS)) % len(RUN_DASHES)]
    return colour, ' stroke-dasharray="%s"' % dash if dash else ""


def _decades(low_exp, high_exp):
    step = max(1, int(math.ceil((high_exp - low_exp) / 6.0)))
    return list(range(low_exp, high_exp + 1, step))


def _nice_range(low, high):
    """(axis low, axis high, ticks) around [low, high], about 5 round ticks."""
    if high == low:
        pad = abs(high) * 0.01 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / 4.0
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    stop = math.ceil(high / step) * step
    ticks = []
    tick = start
    while tick <= stop + step * 1e-9:
        ticks.append(round(tick, 12))
        tick += step
    return start, stop, ticks


def _tick_label(value, step):
    """A tick's label with as many decimals as the step needs (82872.25, not 82872.2)."""
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e7 and step >= 1e-6:
        decimals = max(0, int(-math.floor(math.log10(step) + 1e-9)))
        if step * 10 ** decimals % 1 > 1e-6:
            decimals += 1  # a step of 2.5 or 0.25
        return "%.*f" % (decimals, value)
    return "%.3g" % value

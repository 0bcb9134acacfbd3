"""The answer, ready to use: ``times_doctor_out/best/<solver>.opt`` and the line that uses it.

A scan ends by naming a profile; the modeller then needs that profile's
option file, as GAMS read it (the thread count and display lines included),
in a place their production run can find it.  The scan writes it into its
own output folder, never into RUN_DIR: GAMS finds it there through
``optdir``, so the one line that uses it is the model's usual GAMS call
plus ``optfile=1 optdir=<that folder>``.

The file starts with comment lines (``*`` in the first column, which GAMS's
option reader skips) naming the scan, the figures the choice rests on and
that line.  With ``--solver both`` each solver's best profile gets its
file; the line printed is the overall winner's.  A file a previous scan left
for a solver this scan did not rank is removed: the folder holds this
scan's answer only.
"""

import os

from times_doctor.report import ranking as ranking_mod
from times_doctor import paths
from times_doctor.solvers import table as solvers
from times_doctor.atomic import write_atomic


def write_best_files(out_dir, ranking, option_texts, scan_id, driver, written_at):
    """Write each solver's best profile's option file; returns [(solver, path)], winner first.

    Args:
        out_dir: the scan's output base (OUT of OUT/times_doctor_out).
        ranking: the scan's ranking.Ranking.
        option_texts: profile name -> the option file text of its first run.
        scan_id, driver, written_at: for the header (the driver's path, an
            ISO time).
    """
    folder = paths.best_dir(out_dir)
    best_per_solver = []
    for entry in ranking.entries:
        if entry.profile in option_texts and entry.solver not in dict(best_per_solver):
            best_per_solver.append((entry.solver, entry))
    written = []
    if best_per_solver:
        if not os.path.isdir(folder):
            os.makedirs(folder)
        winner = best_per_solver[0][1]
        for solver, entry in best_per_solver:
            path = best_option_path(out_dir, solver)
            text = header_lines(ranking, entry, winner, scan_id, driver, written_at,
                                use_line(driver, solver, folder))
            write_atomic(path, "".join("* %s\n" % line for line in text)
                         + option_texts[entry.profile])
            written.append((solver, path))
    _remove_stale(out_dir, set(solver for solver, _ in written))
    return written


def best_option_path(out_dir, solver):
    """OUT/times_doctor_out/best/<the solver's option file name>, e.g. best/cplex.opt."""
    return os.path.join(paths.best_dir(out_dir), solvers.get(solver).option_file)


def use_line(driver, solver, folder):
    """The model's GAMS call with the best option file: run it in RUN_DIR."""
    return "gams %s lp=%s mip=%s rmip=%s optfile=1 optdir=%s" % (
        paths.quote_path(os.path.basename(driver)), solver, solver, solver,
        paths.quote_path(os.path.abspath(folder)))


def header_lines(ranking, entry, winner, scan_id, driver, written_at, line):
    """The comment lines at the top of one solver's best option file (without the ``* ``)."""
    label = solvers.get(entry.solver).label
    lines = ["times-doctor: the best %s profile of scan %s (%s, %s)" % (
        label, scan_id, os.path.basename(driver), written_at),
        "profile %s: %s wall (%s)" % (entry.profile, ranking_mod.time_text(entry),
                                       ranking_mod.basis_text(entry))]
    if entry is winner:
        lines.append(ranking_mod.verdict_lines(ranking)[0][1])
    else:
        lines.append("the scan's winner is %s (%s); this is the best of %s" % (
            winner.profile, solvers.get(winner.solver).option_file, label))
    lines.append("use it in the run folder: %s" % line)
    return lines


def _remove_stale(out_dir, keep):
    for solver in solvers.NAMES:
        path = best_option_path(out_dir, solver)
        if solver not in keep and os.path.exists(path):
            os.remove(path)

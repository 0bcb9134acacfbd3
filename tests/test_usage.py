"""usage.py: a run's CPU, its share of the CPU it wanted, the verdict and the Details text."""

import pytest

from fakes import FakeClock
from times_doctor.run import usage
from times_doctor.gams.lst import LstResult
from times_doctor.proc.procgroup import GroupRef, ProcessGroups, TreeUsage


class SampledGroups(ProcessGroups):
    """tree_usage() and machine_load() answer from lists, one entry per call."""

    def __init__(self, trees, loads):
        self.trees = list(trees)
        self.loads = list(loads)
        self.calls = 0

    def tree_usage(self, ref):
        self.calls += 1
        return self.trees.pop(0)

    def machine_load(self):
        return self.loads.pop(0)


class Parser(object):
    def __init__(self, solver_seconds=None, work_units=None):
        self.solver_seconds = solver_seconds
        self.work_units = work_units


def test_sampler_keeps_the_newest_counters_of_every_process_and_thread():
    clock = FakeClock()
    groups = SampledGroups([
        TreeUsage({"gams": 1.0, "solver": 2.0}, {"t1": (2.0, 2.0)}),
        # The solver ended between the samples: its last figures still count.
        TreeUsage({"gams": 1.5}, {"t2": (1.0, 0.0)}),
    ], [3.0, 1.0])
    sampler = usage.UsageSampler(groups, GroupRef(1), clock.monotonic, interval=1.0)
    sampler.sample(force=True)
    clock.advance(1.0)
    sampler.sample()
    figures = sampler.figures()
    assert figures == usage.UsageFigures(cpu_seconds=3.5, cpu_share=0.6, load_avg=2.0, samples=2)


def test_sampler_samples_at_most_once_per_interval_unless_forced():
    clock = FakeClock()
    groups = SampledGroups([TreeUsage({}, {})] * 3, [None] * 3)
    sampler = usage.UsageSampler(groups, GroupRef(1), clock.monotonic, interval=2.0)
    sampler.sample()
    clock.advance(1.9)
    sampler.sample()
    assert groups.calls == 1
    sampler.sample(force=True)
    clock.advance(2.0)
    sampler.sample()
    assert groups.calls == 3


def test_figures_take_the_larger_cpu_measure_and_nothing_when_nothing_was_seen():
    groups = SampledGroups([TreeUsage({"gams": 4.0}, {})], [None])
    sampler = usage.UsageSampler(groups, GroupRef(1))
    assert sampler.figures(final_cpu_seconds=None) == usage.UsageFigures(None, None, None, 0)
    sampler.sample()
    assert sampler.figures(final_cpu_seconds=6.0).cpu_seconds == 6.0  # wait4's total
    assert sampler.figures(final_cpu_seconds=3.0).cpu_seconds == 4.0  # a killed run's samples


def test_a_platform_without_samples_still_has_the_final_total():
    sampler = usage.UsageSampler(SampledGroups([None], [None]), GroupRef(1))
    sampler.sample()
    assert sampler.figures(final_cpu_seconds=2.5) == usage.UsageFigures(2.5, None, None, 1)


@pytest.mark.parametrize("share, load, cpus, verdict", [
    (0.5, 1.0, 2, True),      # waited half the time it wanted a CPU
    (0.79, None, 2, True),
    (0.8, 9.0, 2, False),     # the share decides where it is measured
    (0.97, 0.5, 2, False),
    (None, 2.5, 2, True),     # no per-thread wait: a load above the CPUs still says yes
    (None, 1.5, 2, None),     # ... but nothing can say no
    (None, None, 2, None),
])
def test_is_contended(share, load, cpus, verdict):
    assert usage.is_contended(share, load, cpus) is verdict


def test_timing_fields_from_the_listing_the_log_and_the_samples():
    lst = LstResult("1 Normal Completion", "1 Optimal", 1.0, None, 10, 8.25, None, None,
                    det_ticks=3633.34)
    figures = usage.UsageFigures(12.3456, 0.4567, 3.912, 5)
    fields = usage.timing_fields(12.5, lst, Parser(work_units=None), figures, cpus=2)
    assert fields == {"solver_seconds": 8.25, "gams_seconds": 4.25, "cpu_seconds": 12.346,
                      "det_ticks": 3633.34, "work_units": None, "cpu_share": 0.457,
                      "load_avg": 3.91, "cpus": 2, "contended": True}
    assert sorted(fields) == sorted(usage.FIELDS)


def test_timing_fields_without_a_listing_take_the_logs_solver_time():
    figures = usage.UsageFigures(None, None, None, 0)
    fields = usage.timing_fields(3.0, None, Parser(solver_seconds=3.5, work_units=1.62),
                                 figures, cpus=4)
    assert (fields["solver_seconds"], fields["gams_seconds"], fields["work_units"],
            fields["contended"]) == (3.5, 0.0, 1.62, None)


def test_describe_says_where_the_time_went_and_the_contention():
    fields = {"solver_seconds": 8.3, "gams_seconds": 4.0, "cpu_seconds": 12.1,
              "det_ticks": 3633.34, "work_units": None, "cpu_share": 0.48, "load_avg": 3.9,
              "cpus": 2, "contended": True}
    assert usage.describe(fields, 12.3) == (
        "wall 12.3 s = GAMS 4 + solver 8.3; CPU 12.1 s; 3633 ticks; contended: 48 % of the "
        "CPU its threads wanted, load 3.9 on 2 CPUs")
    fields.update(contended=False, cpu_share=0.97, det_ticks=None, work_units=0.48)
    assert usage.describe(fields, 12.3).endswith(
        "0.48 work units; not contended (97 % of the CPU its threads wanted, load 3.9 on 2 CPUs)")


def test_contention_text_reads_csv_cells_too():
    row = {"cpu_share": "0.5", "load_avg": "3.9", "cpus": "2", "contended": "yes"}
    assert usage.contention_text(row) == ("contended: 50 % of the CPU its threads wanted, "
                                          "load 3.9 on 2 CPUs")
    assert usage.contention_text({"contended": ""}) == ""

"""--cap F and --race: stop the runs that can no longer win.

Tuning tools treat a configuration that has already taken longer than the
best one as a waste of effort (irace's and SMAC's adaptive capping: de
Souza, Ritt and López-Ibáñez, Computers & OR 139, 2022, report 20 to 45 %
less effort at equal quality).  A scan does the same with its profiles:

- ``--cap F``: once a run has completed optimal (ranking.solved), any run
  that has used more than F times that run's time, on the same clock the
  ranking uses, is stopped: it ends ``capped``, with the reason ("could
  not beat dual: 1.5 x 12.3 s").  Runs that have not started keep their
  place: they start as usual, and are stopped in turn if they pass the mark.
- ``--race``: the first optimal completion stops every other run, those
  still waiting too (they could only come second).

Only the scan's own runs are capped, never the confirmation runs
(--confirm), which exist to time the best profiles in full; nor the other
trials (--repeat) of the profile that holds the best time, whose spread
the verdict needs.

Pure decisions over the registry's records; the scan's main loop calls
``apply()`` every turn and its workers report each result.
"""

import threading

from times_doctor.states import FINAL_STATES, RunStatus


class Capper(object):
    """The best completed time so far, and which runs it rules out.

    Args:
        factor: F of --cap (1.0 for --race).
        race: --race: stop every other run, waiting ones included.
        run_seconds: snapshot -> the run's time on the ranking's clock (its
            own clock: a SLURM run's counts from its start on a node), or None
            while it has none.
    """

    def __init__(self, factor, race, run_seconds):
        self.factor = factor
        self.race = race
        self._run_seconds = run_seconds
        self._lock = threading.Lock()
        self._best = None  # (seconds, run name, profile name)

    @property
    def best(self):
        """(seconds, run name, profile name) of the best solved completion, or None."""
        with self._lock:
            return self._best

    def completed(self, name, profile, seconds):
        """A run of *profile* completed solved in *seconds*: the mark may move down."""
        if seconds is None:
            return
        with self._lock:
            if self._best is None or seconds < self._best[0]:
                self._best = (seconds, name, profile)

    def apply(self, registry, candidates):
        """Cap the runs in *candidates* (run name -> profile name) that can no longer win.

        Returns the names capped by this call, in registry order.
        """
        best = self.best
        if best is None:
            return []
        seconds, best_name, best_profile = best
        mark = self.factor * seconds
        capped = []
        for snap in registry.snapshot():
            profile = candidates.get(snap.name)
            if profile is None or snap.name == best_name or snap.status in FINAL_STATES \
                    or snap.cancel_requested:
                continue
            if self.race:
                reason = "race: %s finished first, in %s s" % (best_name, _seconds(seconds))
                if registry.cap(snap.name, reason, waiting_too=True):
                    capped.append(snap.name)
                continue
            if snap.status == RunStatus.WAITING or profile == best_profile:
                continue
            used = self._run_seconds(snap)
            if used is not None and used > mark:
                reason = "could not beat %s: %s x %s s" % (best_name, _factor(self.factor),
                                                           _seconds(seconds))
                if registry.cap(snap.name, reason):
                    capped.append(snap.name)
        return capped


def _factor(value):
    return "%g" % value


def _seconds(value):
    return ("%.1f" % value) if value >= 10 else ("%.2f" % value)

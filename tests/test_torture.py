"""A CI-sized smoke of the torture runner (bench/torture.py): six seeded trials must pass.

`make torture` runs 30 (N=, SEED=); bench/torture.json records a run of 500.
Here: that the runner works on this Python, that a fixed seed gives the same
trials every time, and that six random trials keep every invariant.
"""

import json
import os
import subprocess
import sys

import pytest


REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORTURE = os.path.join(REPO_ROOT, "bench", "torture.py")

pytestmark = [
    pytest.mark.gams,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pty + /proc checks"),
]


def load_torture():
    sys.path.insert(0, os.path.join(REPO_ROOT, "bench"))
    try:
        import torture
    finally:
        sys.path.pop(0)
    return torture


def test_trial_seeds_are_reproducible_and_distinct():
    torture = load_torture()
    seeds = [torture.trial_seed_for(5, index) for index in range(50)]
    assert seeds == [torture.trial_seed_for(5, index) for index in range(50)]
    assert len(set(seeds)) == 50
    assert torture.trial_seed_for(6, 0) != seeds[0]


def test_missing_control_commands_are_left_out_with_a_reason():
    torture = load_torture()
    usable, skipped = torture.action_pool({"reap"})
    assert "sigkill_reap" in usable and "ext_cancel" not in usable
    assert set(skipped) == {"ext_cancel", "ext_pause_resume", "ext_interrupt"}
    assert "no `cancel` subcommand" in skipped["ext_cancel"]
    usable, skipped = torture.action_pool({"reap", "cancel", "pause", "resume", "interrupt"})
    assert usable == list(torture.ACTIONS) and not skipped


def test_six_seeded_trials_keep_every_invariant(tmp_path, gams_path):
    result_path = str(tmp_path / "torture.json")
    proc = subprocess.Popen(
        [sys.executable, TORTURE, "--seed", "11", "--trials", "6", "--gams", gams_path,
         "--json", result_path, "--keep", str(tmp_path / "failed")],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
    output, _ = proc.communicate(timeout=300)
    text = output.decode("utf-8", "replace")
    assert proc.returncode == 0, text
    assert "6 trials, 0 failures" in text, text
    with open(result_path) as handle:
        result = json.load(handle)
    assert result["trials"] == 6 and result["failures"] == 0
    seeds = [trial["seed"] for trial in result["trials_detail"]]
    torture = load_torture()
    assert seeds == [torture.trial_seed_for(11, index) for index in range(6)]
    # Each trial printed the seed that replays it.
    for seed in seeds:
        assert "seed %d:" % seed in text

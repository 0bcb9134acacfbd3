"""A real one-node SLURM cluster in a temporary folder, for the tests (issue 13).

Starts ``munged`` (its own key and socket), ``slurmctld`` and ``slurmd`` as
root with a minimal ``slurm.conf`` (state, spool, pid files and logs all in the
folder, free TCP ports, the node with this machine's CPUs), waits until
``sinfo`` shows the node idle, and stops everything again.  Clients find the
cluster through ``SLURM_CONF`` (see ``env()``); the munge socket is named in
``slurm.conf`` (``AuthInfo``), so nothing in /etc or /run is used or changed.

Debian packages: ``slurm-wlm`` and ``munge`` (``make slurm`` installs them).
Run as a script to try it: ``python tests/slurm_cluster.py`` starts a cluster,
prints its ``SLURM_CONF`` and stops it on Enter.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "srun", "salloc", "scancel", "scontrol", "squeue", "sinfo")

# How long the cluster may take to come up (slurmd registering with slurmctld).
START_SECONDS = 60.0

PARTITION = "tdtest"


class ClusterError(Exception):
    """The cluster could not start; the message carries the daemons' log tails."""


def missing_programs():
    """The daemons and client commands this machine lacks (empty: all there)."""
    return [name for name in DAEMONS + CLIENTS if _which(name) is None]


def cannot_run_reason():
    """Why no cluster can start here, or None (root and the packages are needed)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "the test cluster's daemons must run as root (slurmd starts jobs as their user)"
    missing = missing_programs()
    if missing:
        return "missing %s: run 'make slurm' (Debian packages slurm-wlm and munge)" % (
            ", ".join(missing))
    return None


class SlurmCluster(object):
    """munged + slurmctld + slurmd in one temporary folder.

    Use as a context manager, or start()/stop().  stop() is idempotent and
    kills every daemon it started (and their leftovers, by pid file and by
    process group), so no daemon outlives the test session.
    """

    def __init__(self, root=None, cpus=None):
        self.root = root or tempfile.mkdtemp(prefix="td-slurm-")
        self._own_root = root is None
        self.cpus = cpus or os.cpu_count() or 1
        self.node = socket.gethostname().split(".")[0]
        self.conf_path = os.path.join(self.root, "slurm.conf")
        self.munge_socket = os.path.join(self.root, "munge", "munge.socket")
        self._procs = {}
        self._started = False
        self._stopped = False

    # -- lifecycle ------------------------------------------------------------

    def start(self):
        """Start the daemons and wait until the node is idle; raises ClusterError."""
        reason = cannot_run_reason()
        if reason is not None:
            raise ClusterError(reason)
        self._started = True
        try:
            self._write_files()
            self._start_munged()
            self._start_daemon("slurmctld", ["slurmctld", "-D", "-f", self.conf_path])
            self._wait_for(lambda: self._run(["scontrol", "ping"], check=False).find("UP") >= 0,
                           "slurmctld to answer 'scontrol ping'")
            self._start_daemon("slurmd", ["slurmd", "-D", "-f", self.conf_path,
                                          "-N", self.node])
            self._wait_for(self._node_idle, "node %s to be idle in sinfo" % self.node)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        """Stop every daemon (TERM, then KILL); idempotent."""
        if not self._started or self._stopped:
            return
        self._stopped = True
        # Jobs first, while slurmctld still answers: their processes belong to
        # the tests, and slurmd would otherwise leave them running.
        if "slurmctld" in self._procs and self._procs["slurmctld"].poll() is None:
            self._run(["scancel", "--full", "--user", "root"], check=False)
            self._run(["scancel", "--user", "root"], check=False)
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self._procs.get(name)
            if proc is None:
                continue
            _end(proc)
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
        return False

    # -- for the tests ----------------------------------------------------------

    def env(self, base=None):
        """An environment whose SLURM commands talk to this cluster."""
        env = dict(os.environ if base is None else base)
        env["SLURM_CONF"] = self.conf_path
        for name in list(env):
            # A test run from inside an allocation must not leak it into ours.
            if name.startswith("SLURM_") and name != "SLURM_CONF":
                del env[name]
        return env

    def run(self, argv, check=True, timeout=30, status=False):
        """A SLURM client command against this cluster; its stdout (with *status*: its rc)."""
        return self._run(argv, check=check, timeout=timeout, status=status)

    def log_tails(self, lines=30):
        """The last lines of every daemon's log, for a failure message."""
        parts = []
        for name in DAEMONS:
            for suffix in (".log", ".stdout"):
                path = os.path.join(self.root, "log", name + suffix)
                try:
                    with open(path, "rb") as handle:
                        text = handle.read()[-20000:].decode("utf-8", "replace")
                except (IOError, OSError) as exc:
                    text = "(none: %s)" % exc.strerror
                parts.append("--- %s:\n%s" % (path, "\n".join(text.splitlines()[-lines:])))
        return "\n".join(parts)

    def return_node(self):
        """Bring the node back to idle after a test set it DOWN (``state=resume``)."""
        deadline = time.monotonic() + START_SECONDS
        while not self._node_idle():
            # ReturnToService=2 may bring it back by itself; resume is then
            # refused as an invalid state change, which is fine.
            self._run(["scontrol", "update", "nodename=%s" % self.node, "state=resume"],
                      check=False)
            if time.monotonic() >= deadline:
                raise ClusterError("node %s did not return to idle\n%s" % (
                    self.node, self.log_tails()))
            time.sleep(0.5)

    def job_ids(self):
        """Ids of every job the cluster still knows as pending/running/suspended."""
        out = self._run(["squeue", "-h", "-o", "%i"], check=False)
        return [line.strip() for line in out.splitlines() if line.strip()]

    # -- internals --------------------------------------------------------------

    def _write_files(self):
        for sub in ("munge", "state", "spool", "log", "run"):
            path = os.path.join(self.root, sub)
            os.makedirs(path, exist_ok=True)
        # munged insists on private folders and a private key.
        os.chmod(os.path.join(self.root, "munge"), 0o700)
        os.chmod(self.root, 0o755)
        key = os.path.join(self.root, "munge", "munge.key")
        with open(key, "wb") as handle:
            handle.write(os.urandom(1024))
        os.chmod(key, 0o400)
        ctld_port, slurmd_port = _free_ports(2)
        conf = CONF_TEMPLATE % {
            "root": self.root, "node": self.node, "cpus": self.cpus,
            "ctld_port": ctld_port, "slurmd_port": slurmd_port,
            "munge_socket": self.munge_socket, "partition": PARTITION}
        with open(self.conf_path, "w") as handle:
            handle.write(conf)

    def _start_munged(self):
        munge_dir = os.path.join(self.root, "munge")
        argv = ["munged", "-F", "--force", "--key-file", os.path.join(munge_dir, "munge.key"),
                "--socket", self.munge_socket,
                "--pid-file", os.path.join(munge_dir, "munged.pid"),
                "--seed-file", os.path.join(munge_dir, "munged.seed"),
                "--log-file", os.path.join(self.root, "log", "munged.log")]
        self._start_daemon("munged", argv)
        self._wait_for(lambda: os.path.exists(self.munge_socket), "munged's socket")

    def _start_daemon(self, name, argv):
        log = open(os.path.join(self.root, "log", "%s.stdout" % name), "wb")
        try:
            self._procs[name] = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=self.env(), start_new_session=True, close_fds=True)
        finally:
            log.close()

    def _node_idle(self):
        out = self._run(["sinfo", "-h", "-N", "-o", "%N %t"], check=False)
        return any(line.split()[1:] == ["idle"] for line in out.splitlines()
                   if line.split()[:1] == [self.node])

    def _wait_for(self, condition, what):
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            for name, proc in self._procs.items():
                if proc.poll() is not None:
                    raise ClusterError("%s exited with %s while waiting for %s\n%s" % (
                        name, proc.returncode, what, self.log_tails()))
            if condition():
                return
            time.sleep(0.2)
        raise ClusterError("timed out after %.0f s waiting for %s\n%s" % (
            START_SECONDS, what, self.log_tails()))

    def _run(self, argv, check=True, timeout=30, status=False):
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=self.env())
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        text = out.decode("utf-8", "replace")
        if check and proc.returncode != 0:
            raise ClusterError("%s failed (rc %s): %s" % (
                " ".join(argv), proc.returncode, err.decode("utf-8", "replace").strip()))
        return proc.returncode if status else text


CONF_TEMPLATE = """\
# Written by tests/slurm_cluster.py: a one-node test cluster, everything in %(root)s
ClusterName=tdtest
SlurmctldHost=%(node)s
SlurmUser=root
SlurmdUser=root
SlurmctldPort=%(ctld_port)d
SlurmdPort=%(slurmd_port)d
AuthType=auth/munge
AuthInfo=socket=%(munge_socket)s
CredType=cred/munge
StateSaveLocation=%(root)s/state
SlurmdSpoolDir=%(root)s/spool
SlurmctldPidFile=%(root)s/run/slurmctld.pid
SlurmdPidFile=%(root)s/run/slurmd.pid
SlurmctldLogFile=%(root)s/log/slurmctld.log
SlurmdLogFile=%(root)s/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
KillWait=5
MinJobAge=600
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=%(node)s CPUs=%(cpus)d State=UNKNOWN
PartitionName=%(partition)s Nodes=%(node)s Default=YES MaxTime=INFINITE State=UP
"""


def _free_ports(count):
    sockets, ports = [], []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
            ports.append(sock.getsockname()[1])
    finally:
        for sock in sockets:
            sock.close()
    return ports


def _end(proc, grace_seconds=5.0):
    """TERM the daemon's process group, then KILL it; reap the daemon."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass  # already gone
        try:
            proc.wait(timeout=grace_seconds)
            # The group may still hold children (slurmstepd): KILL them too.
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue
        return


def _which(name):
    found = shutil.which(name)
    if found is None:
        for folder in ("/usr/sbin", "/sbin", "/usr/bin"):
            path = os.path.join(folder, name)
            if os.access(path, os.X_OK):
                return path
    return found


if __name__ == "__main__":
    with SlurmCluster() as cluster:
        sys.stdout.write("SLURM_CONF=%s\nnode %s, %d cpus; Enter stops it\n"
                         % (cluster.conf_path, cluster.node, cluster.cpus))
        sys.stdout.flush()
        sys.stdin.readline()

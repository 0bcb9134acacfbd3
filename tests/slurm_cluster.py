"""A real SLURM cluster of three emulated nodes in a temporary folder, for the tests.

Starts ``munged`` (its own key and socket), ``slurmctld`` and one ``slurmd``
per node as root, all on this machine: each node is ``NodeAddr=127.0.0.1``
with a port of its own and its own spool folder (``SlurmdSpoolDir=.../%n``),
started as ``slurmd -N n1 -f CONF``.  The configuration (state, spool, pid
files and logs all in the folder, free TCP ports) names nothing in /etc or
/run; clients find the cluster through ``SLURM_CONF`` (see ``env()``).  It
waits until ``sinfo`` shows every node idle, and stops everything again.

Nothing outlives the test session, however it ends.  ``stop()`` cancels the
jobs and ends the daemons; and a watchdog process, started first, holds the
read end of a pipe whose write end only this process holds: when this
process dies without stopping the cluster (SIGTERM to pytest, SIGKILL, a
crash), the pipe reaches end-of-file and the watchdog ends every daemon and
every process of the cluster's jobs (they carry ``SLURM_CONF=<this conf>``
in their environment), then removes the folder.

A per-user submission limit: the test cluster has no accounting storage
(slurmdbd and a MySQL server), so no QOS or association limit can be set.
``set_submit_limit(n)`` makes a ``job_submit/lua`` script (stock SLURM
plugin) refuse submissions of more than *n* jobs (array tasks count one
each, as they do for ``MaxSubmitJobsPerUser``) with the same error code
(``ESLURM_ACCOUNTING_POLICY``) and reason line (``QOSMaxSubmitJobPerUserLimit``)
a real QOS limit gives; sbatch then prints what it prints on such a cluster.

Debian packages: ``slurm-wlm`` and ``munge`` (``make slurm`` installs them).
Run as a script to try it: ``python tests/slurm_cluster.py`` starts a cluster,
prints its ``SLURM_CONF`` and stops it on Enter.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "srun", "salloc", "scancel", "scontrol", "squeue", "sinfo", "sdiag")

# How long the cluster may take to come up (every slurmd registering with slurmctld).
START_SECONDS = 60.0

PARTITION = "tdtest"
NODES = ("n1", "n2", "n3")
# CPUs each emulated node offers (all nodes share this machine's cores).
CPUS_PER_NODE = 1

WATCHDOG_FLAG = "--watchdog"


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
    """munged + slurmctld + one slurmd per emulated node, in one temporary folder.

    Use as a context manager, or start()/stop().  stop() is idempotent and
    kills every daemon it started (and their leftovers, by process group),
    so no daemon outlives the test session; the watchdog covers the case
    where stop() never runs.
    """

    def __init__(self, root=None, nodes=NODES, cpus_per_node=CPUS_PER_NODE):
        self.root = root or tempfile.mkdtemp(prefix="td-slurm-")
        self._own_root = root is None
        self.nodes = tuple(nodes)
        self.node = self.nodes[0]
        self.cpus_per_node = cpus_per_node
        self.host = socket.gethostname().split(".")[0]
        self.conf_path = os.path.join(self.root, "slurm.conf")
        self.munge_socket = os.path.join(self.root, "munge", "munge.socket")
        self.limit_path = os.path.join(self.root, "submit_limit")
        self._procs = {}
        self._watchdog = None
        self._started = False
        self._stopped = False

    # -- lifecycle ------------------------------------------------------------

    def start(self):
        """Start the daemons and wait until every node is idle; raises ClusterError."""
        reason = cannot_run_reason()
        if reason is not None:
            raise ClusterError(reason)
        self._started = True
        try:
            self._write_files()
            self._start_watchdog()
            self._start_munged()
            self._start_daemon("slurmctld", ["slurmctld", "-D", "-f", self.conf_path])
            self._wait_for(lambda: self._run(["scontrol", "ping"], check=False).find("UP") >= 0,
                           "slurmctld to answer 'scontrol ping'")
            for node in self.nodes:
                self._start_daemon("slurmd-" + node, ["slurmd", "-D", "-f", self.conf_path,
                                                      "-N", node])
            self._wait_for(lambda: self.idle_nodes() == set(self.nodes),
                           "nodes %s to be idle in sinfo" % ",".join(self.nodes))
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
        daemons = ["slurmd-" + node for node in self.nodes] + ["slurmctld", "munged"]
        for name in daemons:
            proc = self._procs.get(name)
            if proc is not None:
                _end(proc)
        for pid in job_processes(self.conf_path):
            _kill(pid)
        if self._watchdog is not None:
            # Told by end-of-file that we are done: it finds nothing left to end.
            self._watchdog.stdin.close()
            self._watchdog.wait()
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
        names = ["munged", "slurmctld"] + ["slurmd-" + node for node in self.nodes]
        for name in names:
            for suffix in (".log", ".stdout"):
                path = os.path.join(self.root, "log", name + suffix)
                try:
                    with open(path, "rb") as handle:
                        text = handle.read()[-20000:].decode("utf-8", "replace")
                except (IOError, OSError) as exc:
                    text = "(none: %s)" % exc.strerror
                parts.append("--- %s:\n%s" % (path, "\n".join(text.splitlines()[-lines:])))
        return "\n".join(parts)

    def node_states(self):
        """{node: sinfo's short state} ("idle", "alloc", "mix", "down*", ...)."""
        out = self._run(["sinfo", "-h", "-N", "-o", "%N %t"], check=False)
        states = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2:
                states[parts[0]] = parts[1]
        return states

    def idle_nodes(self):
        return set(node for node, state in self.node_states().items() if state == "idle")

    def return_node(self, node=None):
        """Bring a node (default: all) back to idle after a test set it DOWN (``state=resume``)."""
        wanted = set([node]) if node else set(self.nodes)
        deadline = time.monotonic() + START_SECONDS
        while not wanted <= self.idle_nodes():
            for name in wanted - self.idle_nodes():
                # ReturnToService=2 may bring it back by itself; resume is then
                # refused as an invalid state change, which is fine.
                self._run(["scontrol", "update", "nodename=%s" % name, "state=resume"],
                          check=False)
            if time.monotonic() >= deadline:
                raise ClusterError("node(s) %s did not return to idle: %s\n%s" % (
                    ",".join(sorted(wanted)), self.node_states(), self.log_tails()))
            time.sleep(0.5)

    def job_ids(self):
        """Ids of every job (array task) the cluster still knows as pending/running/suspended."""
        out = self._run(["squeue", "-h", "-r", "-o", "%i"], check=False)
        return [line.strip() for line in out.splitlines() if line.strip()]

    def set_submit_limit(self, jobs):
        """Refuse submissions of more than *jobs* jobs (None: no limit); see the module doc."""
        if jobs is None:
            try:
                os.remove(self.limit_path)
            except FileNotFoundError:
                pass
            return
        with open(self.limit_path + ".tmp", "w") as handle:
            handle.write("%d\n" % jobs)
        os.replace(self.limit_path + ".tmp", self.limit_path)

    def rpc_counts(self):
        """sdiag's RPC counts: ({message type: count}, {user: count})."""
        return parse_sdiag(self._run(["sdiag"]))

    def reset_rpc_counts(self):
        self._run(["sdiag", "-r"])

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
        ports = _free_ports(1 + len(self.nodes))
        node_lines = "".join(
            "NodeName=%s NodeHostname=%s NodeAddr=127.0.0.1 Port=%d CPUs=%d State=UNKNOWN\n"
            % (node, self.host, port, self.cpus_per_node)
            for node, port in zip(self.nodes, ports[1:]))
        conf = CONF_TEMPLATE % {
            "root": self.root, "host": self.host, "ctld_port": ports[0],
            "munge_socket": self.munge_socket, "partition": PARTITION,
            "nodes": ",".join(self.nodes), "node_lines": node_lines}
        with open(self.conf_path, "w") as handle:
            handle.write(conf)
        # The lua plugin reads job_submit.lua from slurm.conf's folder.
        with open(os.path.join(self.root, "job_submit.lua"), "w") as handle:
            handle.write(JOB_SUBMIT_LUA % {"limit_path": self.limit_path})

    def _start_watchdog(self):
        self._watchdog = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), WATCHDOG_FLAG, self.root,
             "1" if self._own_root else "0"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True)

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
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=self.env(), start_new_session=True, close_fds=True)
        finally:
            log.close()
        self._procs[name] = proc
        # The watchdog learns each daemon's process group as it starts.
        self._watchdog.stdin.write(("%d\n" % proc.pid).encode("ascii"))
        self._watchdog.stdin.flush()

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
# Written by tests/slurm_cluster.py: a test cluster of emulated nodes, everything in %(root)s
ClusterName=tdtest
SlurmctldHost=%(host)s
SlurmUser=root
SlurmdUser=root
SlurmctldPort=%(ctld_port)d
AuthType=auth/munge
AuthInfo=socket=%(munge_socket)s
CredType=cred/munge
StateSaveLocation=%(root)s/state
SlurmdSpoolDir=%(root)s/spool/%%n
SlurmctldPidFile=%(root)s/run/slurmctld.pid
SlurmdPidFile=%(root)s/run/slurmd-%%n.pid
SlurmctldLogFile=%(root)s/log/slurmctld.log
SlurmdLogFile=%(root)s/log/slurmd-%%n.log
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
JobSubmitPlugins=lua
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
KillWait=5
MinJobAge=600
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=30
%(node_lines)sPartitionName=%(partition)s Nodes=%(nodes)s Default=YES MaxTime=INFINITE State=UP
"""

# The per-user submission limit of set_submit_limit(): a real QOS's
# MaxSubmitJobsPerUser refuses with ESLURM_ACCOUNTING_POLICY and the reason
# QOSMaxSubmitJobPerUserLimit; this script gives the same code and reason.
JOB_SUBMIT_LUA = """\
-- Written by tests/slurm_cluster.py: a stand-in for a QOS submit limit.
local limit_path = "%(limit_path)s"

local function tasks(spec)
   if spec == nil then return 1 end
   local spec_only = string.gsub(spec, "%%%%.*$", "")
   local count = 0
   for part in string.gmatch(spec_only, "[^,]+") do
      local first, last = string.match(part, "^(%%d+)-(%%d+)")
      if first then count = count + tonumber(last) - tonumber(first) + 1
      else count = count + 1 end
   end
   return count
end

function slurm_job_submit(job_desc, part_list, submit_uid)
   local handle = io.open(limit_path, "r")
   if handle == nil then return slurm.SUCCESS end
   local limit = tonumber(handle:read("*l"))
   handle:close()
   if limit ~= nil and tasks(job_desc.array_inx) > limit then
      slurm.log_user("QOSMaxSubmitJobPerUserLimit")
      return slurm.ESLURM_ACCOUNTING_POLICY
   end
   return slurm.SUCCESS
end

function slurm_job_modify(job_desc, job_rec, part_list, modify_uid)
   return slurm.SUCCESS
end

return slurm.SUCCESS
"""


def parse_sdiag(text):
    """({message type: count}, {user: count}) from sdiag's two RPC tables."""
    by_type, by_user = {}, {}
    table = None
    for line in text.splitlines():
        if line.startswith("Remote Procedure Call statistics by message type"):
            table = by_type
        elif line.startswith("Remote Procedure Call statistics by user"):
            table = by_user
        elif line[:1].strip():
            table = None  # another section
        elif table is not None:
            found = re.match(r"\s+(\S+)\s+\(\s*\d+\)\s+count:(\d+)", line)
            if found:
                table[found.group(1)] = int(found.group(2))
    return by_type, by_user


def job_processes(conf_path):
    """Pids of processes started by this cluster's jobs (their environment names its conf)."""
    wanted = ("SLURM_CONF=%s" % conf_path).encode()
    own = os.getpid()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == own:
            continue
        try:
            with open("/proc/%s/environ" % name, "rb") as handle:
                environ = handle.read().split(b"\0")
        except (IOError, OSError):
            continue  # gone, or not ours to read
        if wanted in environ:
            found.append(int(name))
    return found


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


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # ended meanwhile


def _which(name):
    found = shutil.which(name)
    if found is None:
        for folder in ("/usr/sbin", "/sbin", "/usr/bin"):
            path = os.path.join(folder, name)
            if os.access(path, os.X_OK):
                return path
    return found


def watchdog(root, remove_root):
    """The watchdog process: on end-of-file from its owner, end what the cluster left.

    Reads the daemons' pids (each leads its own process group) line by line
    from stdin.  End-of-file means the owner is gone or done; whatever of
    the cluster still runs then is ended: the jobs' processes first (found
    by the cluster's SLURM_CONF in their environment, so slurmd cannot
    start more), then each daemon's process group.
    """
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        # A Ctrl+C or a SIGTERM meant for the test run must not end us first.
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    groups = []
    stdin = getattr(sys.stdin, "buffer", sys.stdin)
    for line in iter(stdin.readline, b""):
        if line.strip().isdigit():
            groups.append(int(line))
    conf_path = os.path.join(root, "slurm.conf")
    for pgid in reversed(groups):
        try:
            os.killpg(pgid, signal.SIGSTOP)  # no daemon starts or restarts anything now
        except ProcessLookupError:
            pass  # ended already
    for pid in job_processes(conf_path):
        _kill(pid)
    for pgid in reversed(groups):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # ended already
    for pid in job_processes(conf_path):
        _kill(pid)
    if remove_root:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == [WATCHDOG_FLAG]:
        sys.exit(watchdog(sys.argv[2], sys.argv[3] == "1"))
    with SlurmCluster() as cluster:
        sys.stdout.write("SLURM_CONF=%s\nnodes %s, %d cpu(s) each; Enter stops it\n"
                         % (cluster.conf_path, ",".join(cluster.nodes), cluster.cpus_per_node))
        sys.stdout.flush()
        sys.stdin.readline()

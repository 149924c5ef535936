"""Helpers for gralarm's integration tests: the gralarm process, a real carbon-cache,
carbon-c-relay, recording line sinks and Prometheus text parsing. Everything listens
on 127.0.0.1 only, on ports the kernel hands out."""

import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request

_RUNNING = []  # every process started by a test, for kill_all()


def kill_all():
    """Kills what a test left running (after a failure, say)."""
    while _RUNNING:
        proc = _RUNNING.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


GRALARM_BIN = os.environ.get("GRALARM_BIN", os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "gralarm"))


def free_port(kind=socket.SOCK_STREAM):
    """A loopback port free for TCP and UDP at the time of asking."""
    while True:
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        other = socket.SOCK_DGRAM if kind == socket.SOCK_STREAM else socket.SOCK_STREAM
        try:
            with socket.socket(socket.AF_INET, other) as s:
                s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue


def wait_until(pred, timeout=30.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(interval)
    if not pred():
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def parse_metrics(text):
    """{(name, frozenset(labels.items())): value} from Prometheus text format."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$', line)
        assert m, f"unparsable metrics line: {line!r}"
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(4))
    return out


def metric(metrics, name, **labels):
    return metrics.get((name, frozenset(labels.items())), 0.0)


class Gralarm:
    """A `gralarm serve` process with its own config file in `workdir`."""

    def __init__(self, workdir, destinations, method="forward", replication=1,
                 extra="", workers=2, carbon_interval_s=0, sections="", forward_extra=""):
        """`extra`: more [ingest] keys; `forward_extra`: more [forward] keys;
        `sections`: more whole sections (TOML)."""
        self.workdir = workdir
        self.sections = sections
        self.forward_extra = forward_extra
        self.port = free_port()
        self.api_port = free_port()
        self.config_path = os.path.join(workdir, "gralarm.toml")
        self.log_path = os.path.join(workdir, "gralarm.log")
        self.write_config(destinations, method, replication, extra, workers,
                          carbon_interval_s)
        self.proc = None

    def write_config(self, destinations, method="forward", replication=1, extra="",
                     workers=2, carbon_interval_s=0):
        dests = "".join(
            f'[[forward.destinations]]\naddress = "{d[0]}"\ninstance = "{d[1]}"\n'
            if isinstance(d, tuple) else f'[[forward.destinations]]\naddress = "{d}"\n'
            for d in destinations)
        with open(self.config_path, "w") as f:
            f.write(f'[ingest]\nlisten = "127.0.0.1:{self.port}"\nworkers = {workers}\n'
                    f'{extra}\n'
                    f'[api]\nlisten = "127.0.0.1:{self.api_port}"\n'
                    f'[self_metrics]\ncarbon_interval_s = {carbon_interval_s}\n'
                    f'[store]\npath = "{os.path.join(self.workdir, "store")}"\n'
                    f'{self.sections}'
                    f'[forward]\nmethod = "{method}"\nreplication = {replication}\n'
                    f'reconnect_min_ms = 50\nreconnect_max_ms = 500\n{self.forward_extra}\n'
                    f'{dests}')

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([GRALARM_BIN, "serve", "-c", self.config_path],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        _RUNNING.append(self.proc)
        wait_until(lambda: self.healthy() or self.proc.poll() is not None, 20,
                   what="gralarm /healthz")
        assert self.proc.poll() is None, "gralarm exited:\n" + self.read_log()
        return self

    def healthy(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.api_port}/healthz",
                                        timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def metrics_text(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.api_port}/metrics",
                                    timeout=5) as r:
            return r.read().decode()

    def metrics(self):
        return parse_metrics(self.metrics_text())

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=15):
        """SIGTERM; returns (exit code, seconds it took)."""
        if self.proc is None or self.proc.poll() is not None:
            return (self.proc.returncode if self.proc else None), 0.0
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.log.close()
        return rc, time.monotonic() - t0

    def read_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()


class LineSink:
    """Records every complete line sent to 127.0.0.1:<port>, per connection."""

    def __init__(self, port=0):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.lines = []
        self.lock = threading.Lock()
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn):
        buf = b""
        with conn:
            while True:
                try:
                    data = conn.recv(1 << 16)
                except OSError:
                    break
                if not data:
                    break
                buf += data
                *complete, buf = buf.split(b"\n")
                if complete:
                    with self.lock:
                        self.lines.extend(complete)

    def snapshot(self):
        with self.lock:
            return list(self.lines)

    def close(self):
        self.stopped = True
        self.sock.close()


class CarbonCache:
    """Debian's carbon-cache on loopback with its own storage, 1-second whisper
    retention for the last hour, and no create/update throttling."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.port = free_port()
        self.pickle_port = free_port()
        self.query_port = free_port()
        self.storage = os.path.join(workdir, "storage")
        os.makedirs(os.path.join(self.storage, "log"), exist_ok=True)
        self.conf = os.path.join(workdir, "carbon.conf")
        with open(os.path.join(workdir, "storage-schemas.conf"), "w") as f:
            f.write("[everything]\npattern = .*\nretentions = 1s:1h\n")
        with open(self.conf, "w") as f:
            f.write(f"""[cache]
STORAGE_DIR = {self.storage}/
LOCAL_DATA_DIR = {self.storage}/whisper/
WHITELISTS_DIR = {self.storage}/lists/
CONF_DIR = {workdir}/
LOG_DIR = {self.storage}/log/
PID_DIR = {self.storage}/
USER =
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = {self.port}
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = {self.pickle_port}
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = {self.query_port}
LOG_LISTENER_CONNECTIONS = False
CARBON_METRIC_INTERVAL = 0
""")
        self.proc = None

    def start(self):
        pidfile = os.path.join(self.storage, "carbon-cache.pid")
        if os.path.exists(pidfile):
            os.unlink(pidfile)
        self.log = open(os.path.join(self.workdir, "carbon-cache.out"), "ab")
        self.proc = subprocess.Popen(
            ["carbon-cache", f"--config={self.conf}", f"--pidfile={pidfile}",
             "--nodaemon", "start"], stdout=self.log, stderr=subprocess.STDOUT)
        _RUNNING.append(self.proc)
        wait_until(lambda: port_open(self.port) or self.proc.poll() is not None, 60,
                   what="carbon-cache line receiver")
        assert self.proc.poll() is None, "carbon-cache exited; see carbon-cache.out"
        return self

    def wait_written(self, quiet_s=2.0, timeout=60.0):
        """Waits until carbon-cache's writer has been idle for `quiet_s` (it logs every
        whisper update, so its output stops growing). Call it before a final stop():
        on SIGTERM carbon-cache 1.1.x writes out its cache only when its writer thread
        is not sleeping between passes, so it can lose the last second it received."""
        out = os.path.join(self.workdir, "carbon-cache.out")
        deadline = time.monotonic() + timeout
        last, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            size = os.path.getsize(out)
            if size != last:
                last, since = size, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return
            time.sleep(0.1)
        raise AssertionError("carbon-cache kept writing for %s s" % timeout)

    def stop(self):
        """SIGTERM: carbon-cache writes what its writer holds and exits (see
        wait_written for the last second it received)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def whisper_path(self, metric):
        return os.path.join(self.storage, "whisper", *metric.split(".")) + ".wsp"


def send_tcp(port, data, chunk=1 << 16):
    with socket.create_connection(("127.0.0.1", port)) as s:
        for i in range(0, len(data), chunk):
            s.sendall(data[i:i + chunk])

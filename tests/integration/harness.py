"""Helpers for gralarm's integration tests: the gralarm process, a real carbon-cache,
carbon-c-relay, graphite-web, reference whisper files, recording line sinks and
Prometheus text parsing. Everything listens on 127.0.0.1 only, on ports the kernel
hands out."""

import http.server
import json
import math
import os
import random
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

_RUNNING = []  # every process started by a test, for kill_all()
_SHARED = []   # processes shared by the tests of a module, for kill_shared()


def kill_all():
    """Kills what a test left running (after a failure, say). A process started as
    the leader of its own process group (`own_group`) is killed with its group."""
    while _RUNNING:
        proc = _RUNNING.pop()
        if proc.poll() is None:
            if getattr(proc, "own_group", False):
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
            proc.wait()


def kill_shared():
    """Kills the processes started for several tests (start(shared=True)) that their
    module fixture did not stop: called when the session ends."""
    _RUNNING.extend(_SHARED)
    _SHARED.clear()
    kill_all()


GRALARM_BIN = os.environ.get("GRALARM_BIN", os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "gralarm"))


# Ports for the servers a test starts. Under ctest each integration file has its own
# block of _PORT_BLOCK_SIZE ports from _PORT_BLOCKS_START (GRALARM_TEST_PORT_BLOCK, set in
# tests/CMakeLists.txt), below the kernel's ephemeral range (32768 and up on Linux): a
# port that a test frees while a peer is down cannot be taken meanwhile by another file's
# server or by an outgoing connection, and a test hands out each port of its block once.
# Run by hand (no block), ports come from the kernel as before.
_PORT_BLOCKS_START = 10000
_PORT_BLOCK_SIZE = 400
_PORT_BLOCK = os.environ.get("GRALARM_TEST_PORT_BLOCK")
_next_port = [None]


def _bindable(port):
    """True when `port` is free on loopback for both TCP and UDP."""
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        try:
            with socket.socket(socket.AF_INET, kind) as s:
                s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(kind=socket.SOCK_STREAM):
    """A loopback port free for TCP and UDP at the time of asking."""
    if _PORT_BLOCK is not None:
        first = _PORT_BLOCKS_START + int(_PORT_BLOCK) * _PORT_BLOCK_SIZE
        if _next_port[0] is None:
            _next_port[0] = first
        while _next_port[0] < first + _PORT_BLOCK_SIZE:
            port = _next_port[0]
            _next_port[0] += 1
            if _bindable(port):
                return port
        raise AssertionError(f"port block {_PORT_BLOCK} ({first}..."
                             f"{first + _PORT_BLOCK_SIZE - 1}) used up")
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


class WebhookReceiver:
    """An HTTP receiver on 127.0.0.1 (`port` 0: a free one) for gralarm's webhooks and
    Alertmanager posts. Answers each POST with the next of `statuses` (counted in
    `refused`), then 200, recording (path, JSON body) in `posts` and when it came
    (time.monotonic()) in `arrived`."""

    def __init__(self, statuses=(), port=0):
        self.statuses = list(statuses)
        self.posts, self.arrived, self.refused = [], [], 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.statuses:
                    receiver.refused += 1
                    self.send_response(receiver.statuses.pop(0))
                else:
                    receiver.posts.append((self.path, json.loads(body)))
                    receiver.arrived.append(time.monotonic())
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self, path=None):
        """The bodies answered 200 (those POSTed to `path` only, when given), in order."""
        return [body for p, body in list(self.posts) if path is None or p == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


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
    """Debian's carbon-cache on loopback with its own storage, whisper retention
    `retentions` for every metric (1-second points for the last hour unless told),
    and no create/update throttling."""

    def __init__(self, workdir, retentions="1s:1h"):
        self.workdir = workdir
        self.port = free_port()
        self.pickle_port = free_port()
        self.query_port = free_port()
        self.storage = os.path.join(workdir, "storage")
        os.makedirs(os.path.join(self.storage, "log"), exist_ok=True)
        self.conf = os.path.join(workdir, "carbon.conf")
        with open(os.path.join(workdir, "storage-schemas.conf"), "w") as f:
            f.write(f"[everything]\npattern = .*\nretentions = {retentions}\n")
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


class GraphiteWeb:
    """Debian's graphite-web 1.1.8 serving /render over the whisper files under
    `whisper_dir`, from Django's development server (`graphite-manage runserver`)
    on a free loopback port, as the leader of its own process group.

    Its settings are a module written into `workdir` and named by
    GRAPHITE_SETTINGS_MODULE (graphite/settings.py imports that module instead of
    /etc/graphite/local_settings.py, which is neither read nor written): storage,
    index, logs and an sqlite database in `workdir`, no memcache (Django's dummy
    cache), no carbonlink (whisper files only), no cluster, no worker pool, and
    xFilesFactor 0 as graphite-web defaults it. /render needs no database table,
    so no `migrate` is run. Ready in about 0.6 s on an idle machine."""

    SETTINGS_MODULE = "gralarm_oracle_graphite_settings"

    def __init__(self, workdir, whisper_dir):
        self.workdir = os.path.abspath(workdir)
        self.whisper_dir = os.path.abspath(whisper_dir)
        self.port = free_port()
        self.log_dir = os.path.join(self.workdir, "graphite-log")
        self.out_path = os.path.join(self.workdir, "graphite-web.out")
        os.makedirs(self.log_dir, exist_ok=True)
        os.makedirs(self.whisper_dir, exist_ok=True)
        settings = {
            "SECRET_KEY": "gralarm-integration-test",
            "DEBUG": False,
            "ALLOWED_HOSTS": ["127.0.0.1"],
            "TIME_ZONE": "UTC",
            "STORAGE_DIR": self.workdir,
            "CONF_DIR": self.workdir,
            "WHISPER_DIR": self.whisper_dir,
            "CERES_DIR": os.path.join(self.workdir, "no-ceres"),
            "RRD_DIR": os.path.join(self.workdir, "no-rrd"),
            "STANDARD_DIRS": [self.whisper_dir],
            "INDEX_FILE": os.path.join(self.workdir, "graphite-index"),
            "LOG_DIR": self.log_dir,
            "LOG_ROTATION": False,
            "DATABASES": {"default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": os.path.join(self.workdir, "graphite.db")}},
            "MEMCACHE_HOSTS": [],
            "CARBONLINK_HOSTS": [],
            "CLUSTER_SERVERS": [],
            "USE_WORKER_POOL": False,
            "DEFAULT_XFILES_FACTOR": 0,
            "FUNCTION_PLUGINS": [],
        }
        with open(os.path.join(self.workdir, self.SETTINGS_MODULE + ".py"), "w") as f:
            for key, value in settings.items():
                f.write(f"{key} = {value!r}\n")
        self.proc = None
        self.startup_s = None

    def _env(self):
        env = dict(os.environ)
        env["GRAPHITE_SETTINGS_MODULE"] = self.SETTINGS_MODULE
        env["DJANGO_SETTINGS_MODULE"] = "graphite.settings"
        env["PYTHONPATH"] = self.workdir
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["TZ"] = "UTC"
        return env

    def migrate(self, timeout=120.0):
        """Creates graphite-web's sqlite tables (`graphite-manage migrate`), which
        /events/ needs (/render does not). Call it before start()."""
        subprocess.run(["/usr/bin/python3", "/usr/bin/graphite-manage", "migrate",
                        "--noinput"], env=self._env(), cwd=self.workdir, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=timeout)
        return self

    def start(self, timeout=30.0, shared=False):
        """Starts the server and waits until /render answers. `shared`: it serves
        several tests (a module fixture stops it), so the per-test cleanup leaves it
        running. Should another process take the port between free_port() and the
        server's bind, it tries again on another port."""
        env = self._env()
        self.out = open(self.out_path, "ab")
        t0 = time.monotonic()
        for attempt in range(3):
            if attempt:
                self.port = free_port()
            self.proc = subprocess.Popen(
                ["/usr/bin/python3", "/usr/bin/graphite-manage", "runserver", "--noreload",
                 f"127.0.0.1:{self.port}"],
                env=env, cwd=self.workdir, stdout=self.out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
            self.proc.own_group = True
            (_SHARED if shared else _RUNNING).append(self.proc)
            wait_until(lambda: self._answers() or self.proc.poll() is not None, timeout,
                       interval=0.05, what="graphite-web /render")
            if self.proc.poll() is None or "already in use" not in self.read_output():
                break
        assert self.proc.poll() is None, "graphite-web exited:\n" + self.read_output()
        self.startup_s = time.monotonic() - t0
        return self

    def _answers(self):
        try:
            with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/render?format=json&target=constantLine(1)",
                    timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def render_raw(self, target, from_ts, until_ts):
        """The parsed JSON of /render?format=json: graphite-web's own objects, tags
        included. NaN comes out as null and infinity as 1e9999, as graphite writes
        them. Raises AssertionError with graphite-web's exception log on an error."""
        query = urllib.parse.urlencode({"target": target, "from": str(int(from_ts)),
                                        "until": str(int(until_ts)), "format": "json"})
        url = f"http://127.0.0.1:{self.port}/render?{query}"
        try:
            with urllib.request.urlopen(url, timeout=60) as r:
                body = r.read().decode()
        except urllib.error.HTTPError as e:
            raise AssertionError(
                f"graphite-web refused {target!r}: HTTP {e.code}\n"
                f"{e.read().decode(errors='replace')[-2000:]}\n"
                f"{self.read_exception_log()[-4000:]}") from None
        return json.loads(body)

    def render(self, target, from_ts, until_ts):
        """[{"target", "datapoints": [[value or None, ts], ...]}, ...] in graphite's
        order. Whisper returns the points of steps T with from_ts < T <= until_ts
        (both rounded down to a step first), so steps T0..Tn are from_ts = T0 - step,
        until_ts = Tn."""
        return [{"target": s["target"], "datapoints": s["datapoints"]}
                for s in self.render_raw(target, from_ts, until_ts)]

    def read_output(self):
        with open(self.out_path, errors="replace") as f:
            return f.read()

    def read_exception_log(self):
        path = os.path.join(self.log_dir, "exception.log")
        if not os.path.exists(path):
            return ""
        with open(path, errors="replace") as f:
            return f.read()

    def stop(self, timeout=10.0):
        """SIGTERM to the whole process group, SIGKILL if it lingers."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        for running in (_RUNNING, _SHARED):
            if self.proc in running:
                running.remove(self.proc)
        self.out.close()


def whisper_path(whisper_dir, metric):
    """The file carbon-cache and graphite-web use for `metric` under `whisper_dir`."""
    return os.path.join(whisper_dir, *metric.split(".")) + ".wsp"


def grid_last(points, step_s):
    """{path: {step_ts: value}} keeping, in each step floor(ts / step_s) * step_s, the
    point that came LAST in `points` (arrival order)."""
    out = {}
    for path, value, ts in points:
        out.setdefault(path, {})[int(ts) // step_s * step_s] = float(value)
    return out


def write_whisper(whisper_dir, points, step_s, retention_s=86400):
    """Writes `points` ([(path, value, ts)] in arrival order) as reference whisper files
    under `whisper_dir`, without carbon-cache: one file per path with a single archive
    of step `step_s` kept for `retention_s`, holding per step the last point that
    arrived in it (grid_last). The steps are gridded here, one point per step in one
    whisper.update_many, because update_many, given several points of one step,
    keeps the one with the latest timestamp and, among equal timestamps, the FIRST
    given. The timestamps must lie within `retention_s` of now."""
    import whisper
    for path, steps in grid_last(points, step_s).items():
        file = whisper_path(whisper_dir, path)
        os.makedirs(os.path.dirname(file), exist_ok=True)
        if os.path.exists(file):
            os.unlink(file)
        whisper.create(file, [(step_s, retention_s // step_s)], xFilesFactor=0,
                       aggregationMethod="last")
        whisper.update_many(file, sorted(steps.items()))


# The series of generate_points(), by family.
GAUGES = ["srv.web1.cpu", "srv.web2.cpu", "srv.web3.cpu", "srv.web4.cpu",
          "srv.db1.cpu", "srv.db2.cpu"]
MEMORY = ["srv.web1.mem", "srv.web2.mem", "srv.web3.mem", "srv.web4.mem"]
COUNTERS = ["srv.web1.rx", "srv.web2.rx", "srv.web3.rx", "srv.web4.rx"]
WRAP = 2 ** 32  # srv.web2.rx wraps as a 32-bit counter


def generate_points(base_ts, steps, step_s, seed=15):
    """Raw points [(path, value, ts)] in arrival order (time order, series
    interleaved) for the series in GAUGES, MEMORY and COUNTERS over the steps
    base_ts + i * step_s, i in [0, steps); base_ts must be a multiple of step_s.

    Every series has a point in the first step (so the set of series is the same at
    every step: a series first seen late would count in countSeries and shift the
    pairing of asPercent / divideSeriesLists in a render but not in a stream) and in
    the last step. Between them:
      - srv.web1.cpu steady values with some exact zeros; web3 swings negative and
        through 0; db* fractional;
      - srv.web2.cpu misses ~15% of its steps (runs of at most 3 with the default
        seed), srv.web4.cpu and srv.web3.rx miss a run of 8 steps (longer than the
        moving windows of the tests), srv.web3.mem misses single steps and is 0 at
        some (division by zero);
      - srv.web1.rx is a counter reset to small values twice, srv.web2.rx a 32-bit
        counter that wraps, srv.web4.rx steady;
      - in some steps a series gets several points: the same timestamp re-sent with
        another value, then a point at a later offset in the same step; the last to
        arrive counts, and it is also the latest, so carbon-cache keeps it too (its
        cache keeps the last value per timestamp, whisper the latest timestamp of a
        step). Timestamps are off the step boundary at random offsets.
    Deterministic for a given seed."""
    assert base_ts % step_s == 0
    rnd = random.Random(seed)
    rx = {"srv.web1.rx": 1000.0, "srv.web2.rx": float(WRAP - 40000),
          "srv.web3.rx": 5.0e9, "srv.web4.rx": 123456.0}
    points = []
    for i in range(steps):
        t = base_ts + i * step_s
        edge = i in (0, steps - 1)
        step_points = []
        for k, path in enumerate(GAUGES):
            if path == "srv.web2.cpu" and not edge and rnd.random() < 0.15:
                continue
            if path == "srv.web4.cpu" and 30 <= i < 38:
                continue
            if path == "srv.web1.cpu":
                v = 0.0 if i % 11 == 5 else round(50 + 30 * math.sin(i / 6.0), 3)
            elif path == "srv.web3.cpu":
                v = 0.0 if i % 9 == 4 else round(-20 + 25 * math.sin(i / 4.0 + 1), 2)
            elif path.startswith("srv.db"):
                v = round(rnd.uniform(0, 100), 4) + 0.125
            else:
                v = float(rnd.randint(-5, 95))
            step_points.append((path, v))
        for k, path in enumerate(MEMORY):
            if path == "srv.web3.mem" and not edge:
                if i % 13 == 7:
                    continue
                if i % 10 == 3:
                    step_points.append((path, 0.0))
                    continue
            step_points.append((path, float(1000 * (k + 1) + rnd.randint(0, 500))))
        for path in COUNTERS:
            if path == "srv.web1.rx" and i in (25, 55):
                rx[path] = float(rnd.randint(0, 50))
            elif path == "srv.web2.rx":
                rx[path] = (rx[path] + rnd.randint(1000, 9000)) % WRAP
            else:
                rx[path] += rnd.randint(0, 4000)
            if path == "srv.web3.rx" and 40 <= i < 48:
                continue
            step_points.append((path, rx[path]))
        rnd.shuffle(step_points)
        for path, v in step_points:
            offset = 0 if edge else rnd.randrange(step_s)
            if not edge and path in ("srv.web1.cpu", "srv.db1.cpu", "srv.web4.rx") \
                    and i % 7 == 2:
                # An earlier value of this step, overwritten by what follows.
                points.append((path, v + 1000.5, t + offset))
                if offset < step_s - 1:
                    points.append((path, v - 777.0, t + offset))
                    offset = rnd.randrange(offset + 1, step_s)
            points.append((path, v, t + offset))
    return points

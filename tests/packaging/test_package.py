"""The Debian package of tools/package.sh, installed on this machine with dpkg:
its contents, the system user, the systemd unit (systemd-analyze verify and
security), the libraries it depends on, the Dockerfile's runtime stage, and
removal keeping an edited configuration. Needs root (dpkg -i); run by
tools/check-package.sh after tools/package.sh. No service is started: the tests
run with a policy-rc.d that forbids it (and systemd is not PID 1 in CI)."""

import fnmatch
import os
import pathlib
import pwd
import re
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

import debdeps

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import harness  # noqa: E402  (free ports, line sinks, waiting)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
UNIT = "/lib/systemd/system/gralarm.service"
CONFIG = "/etc/gralarm/gralarm.toml"
STATE = "/var/lib/gralarm"
# systemd-analyze security's overall exposure (0 = fully sandboxed, 10 = not at all);
# README "Install" gives the figure this unit gets.
MAX_EXPOSURE = 2.0


def run(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


def project_version():
    with open(os.path.join(REPO, "CMakeLists.txt")) as f:
        return re.search(r"project\(gralarm VERSION (\S+)", f.read()).group(1)


def package_status():
    res = run("dpkg-query", "-W", "-f", "${db:Status-Abbrev}", "gralarm", check=False)
    return res.stdout.strip() if res.returncode == 0 else ""


def gralarm_processes():
    """pids of running processes whose executable is the installed binary."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/exe").startswith("/usr/bin/gralarm"):
                pids.append(pid)
        except OSError:
            pass
    return pids


@pytest.fixture(scope="module")
def deb():
    arch = run("dpkg", "--print-architecture").stdout.strip()
    path = os.path.join(REPO, "dist", f"gralarm_{project_version()}_{arch}.deb")
    assert os.path.exists(path), f"{path} missing: run bash tools/package.sh first"
    return path


@pytest.fixture(scope="module")
def installed(deb):
    """Installs the package for the module's tests, then purges it."""
    if os.geteuid() != 0:
        pytest.fail("installing a package needs root")
    if package_status():
        pytest.fail("a gralarm package is already on this machine; these tests "
                    "install and purge their own")
    created_policy = not os.path.exists("/usr/sbin/policy-rc.d")
    if created_policy:
        with open("/usr/sbin/policy-rc.d", "w") as f:
            f.write("#!/bin/sh\nexit 101\n")
        os.chmod("/usr/sbin/policy-rc.d", 0o755)
    try:
        res = run("dpkg", "-i", deb, check=False)
        assert res.returncode == 0, res.stdout + res.stderr
        yield deb
    finally:
        if package_status():
            run("dpkg", "--purge", "gralarm", check=False)
        if created_policy:
            os.remove("/usr/sbin/policy-rc.d")


def test_package_holds_the_layout(deb):
    listing = run("dpkg-deb", "-c", deb).stdout
    paths = {line.split()[-1].lstrip(".") for line in listing.splitlines()}
    for p in ["/usr/bin/gralarm", CONFIG, "/etc/default/gralarm", UNIT,
              "/usr/share/doc/gralarm/README.md", "/usr/share/doc/gralarm/ARCHITECTURE.md",
              "/usr/share/doc/gralarm/STORAGE.md", "/usr/share/doc/gralarm/copyright",
              "/usr/share/doc/gralarm/examples/rules/example.toml",
              "/usr/share/doc/gralarm/examples/cluster-example.toml"]:
        assert p in paths, f"{p} not in the package"
    assert STATE + "/" not in paths, "the store is the postinst's, so dpkg -r keeps it"
    conffiles = run("dpkg-deb", "-I", deb, "conffiles").stdout.split()
    assert sorted(conffiles) == ["/etc/default/gralarm", CONFIG]
    assert run("dpkg-deb", "-f", deb, "Version").stdout.strip() == project_version()


def test_depends_come_from_dpkg_shlibdeps(deb):
    depends = run("dpkg-deb", "-f", deb, "Depends").stdout
    # The libraries the issue was about, with the minimum versions only
    # dpkg-shlibdeps knows from the shlibs/symbols files.
    assert re.search(r"librocksdb7\.8 \(>= [^)]+\)", depends), depends
    assert re.search(r"libcurl4 \(>= [^)]+\)", depends), depends
    assert re.search(r"libc6 \(>= [^)]+\)", depends), depends


def test_installed_binary_runs(installed):
    res = run("/usr/bin/gralarm", "--version")
    assert project_version() in res.stdout


def test_installed_config_is_valid(installed):
    res = run("/usr/bin/gralarm", "check-config", "-c", CONFIG, check=False)
    assert res.returncode == 0, res.stdout + res.stderr


def test_system_user_owns_the_state_directory(installed):
    user = pwd.getpwnam("gralarm")
    assert user.pw_uid < 1000, "a system user"
    assert user.pw_dir == STATE
    assert user.pw_shell in ("/usr/sbin/nologin", "/bin/false")
    st = os.stat(STATE)
    assert st.st_uid == user.pw_uid and st.st_gid == user.pw_gid
    assert stat.S_IMODE(st.st_mode) == 0o750


def test_unit_is_enabled_but_nothing_started(installed):
    assert os.path.islink("/etc/systemd/system/multi-user.target.wants/gralarm.service")
    assert gralarm_processes() == []


def test_systemd_accepts_the_unit(installed):
    res = run("systemd-analyze", "verify", UNIT, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "gralarm.service" not in res.stderr, res.stderr


def test_unit_directives(installed):
    with open(UNIT) as f:
        unit = f.read()
    for line in ["ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure",
                 "ProtectSystem=strict", "ReadWritePaths=/var/lib/gralarm",
                 "NoNewPrivileges=yes", "PrivateTmp=yes", "ProtectHome=yes",
                 "CapabilityBoundingSet=\n", "User=gralarm"]:
        assert line in unit, line
    # ingest.max_connections of the shipped config, plus 1024 for the rest.
    with open(CONFIG) as f:
        max_connections = int(re.search(r"^max_connections = (\d+)", f.read(), re.M).group(1))
    limit = int(re.search(r"^LimitNOFILE=(\d+)$", unit, re.M).group(1))
    assert limit >= max_connections + 1024


def test_unit_is_sandboxed(installed):
    res = run("systemd-analyze", "security", "--offline=true",
              f"--threshold={int(MAX_EXPOSURE * 10)}", UNIT, check=False)
    m = re.search(r"Overall exposure level for gralarm\.service: (\d+\.\d+)", res.stdout)
    assert m, res.stdout + res.stderr
    assert float(m.group(1)) <= MAX_EXPOSURE, res.stdout
    assert res.returncode == 0, res.stdout + res.stderr


def test_depends_cover_every_library(installed):
    depends = run("dpkg-query", "-W", "-f", "${Pre-Depends},${Depends}", "gralarm").stdout
    missing = debdeps.uncovered_libraries("/usr/bin/gralarm", debdeps.parse_relation(depends))
    assert missing == {}


def runtime_relations(stage, deb):
    """What the runtime stage installs, as relations: the packages it names and
    the Depends of the .deb it installs when that is the one tools/package.sh
    builds (copied from dist/ of a stage that runs tools/package.sh)."""
    relations = [[p] for p in stage.packages]
    for path in stage.debs:
        assert fnmatch.fnmatch(os.path.basename(deb), os.path.basename(path)), \
            f"{path}: not the package tools/package.sh builds"
        copied = [c for c in stage.copies if c[0] is not None and
                  any(src.rstrip("/").endswith("dist") or "/dist/" in src for src in c[1]) and
                  path.startswith(c[2].rstrip("/"))]
        assert copied, f"{path}: not copied from the dist/ of a build stage"
        assert any("tools/package.sh" in r for r in stage.build_stage_runs), \
            "no build stage runs tools/package.sh"
        fields = run("dpkg-deb", "-f", deb, "Pre-Depends", "Depends").stdout
        for line in fields.splitlines():
            relations += debdeps.parse_relation(line.partition(":")[2])
    return relations


def test_dockerfile_runtime_stage_covers_every_library(installed, deb):
    with open(os.path.join(REPO, "Dockerfile")) as f:
        stage = debdeps.read_runtime_stage(f.read())
    assert stage.entrypoint[:1] == ["/usr/bin/gralarm"], "runs the packaged binary"
    assert not any("gralarm" in os.path.basename(src.rstrip("/"))
                   for _, sources, _ in stage.copies for src in sources), \
        "the binary comes from the package, not a COPY"
    missing = debdeps.uncovered_libraries("/usr/bin/gralarm", runtime_relations(stage, deb))
    assert missing == {}


def test_library_check_catches_the_unpackaged_dockerfile(installed, deb):
    with open(os.path.join(os.path.dirname(__file__), "Dockerfile.unpackaged")) as f:
        stage = debdeps.read_runtime_stage(f.read())
    missing = debdeps.uncovered_libraries("/usr/bin/gralarm", runtime_relations(stage, deb))
    owners = set(missing.values())
    assert {"librocksdb7.8", "libcurl4"} <= owners, missing


def syscall_groups():
    """{"@group": [syscall or @group, ...]} from systemd-analyze syscall-filter."""
    groups, current = {}, None
    for line in run("systemd-analyze", "syscall-filter").stdout.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.strip(), [])
        elif current is not None and line.strip() and not line.strip().startswith("#"):
            current.append(line.strip())
    return groups


def expand(name, groups):
    if not name.startswith("@"):
        return {name}
    return set().union(*(expand(n, groups) for n in groups[name]))


def unit_syscall_filter():
    """The syscalls the installed unit's SystemCallFilter= lines allow."""
    groups = syscall_groups()
    allowed = set()
    with open(UNIT) as f:
        for value in re.findall(r"^SystemCallFilter=(.*)$", f.read(), re.M):
            deny = value.startswith("~")
            names = set().union(*(expand(n, groups) for n in value.lstrip("~").split()))
            allowed = allowed - names if deny else allowed | names
    return allowed


def children(pid):
    """pids of the child processes of pid."""
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


@pytest.fixture
def readable_tmp():
    """A temporary directory the gralarm user can read (pytest's tmp_path is not)."""
    with tempfile.TemporaryDirectory(prefix="gralarm-pkg-") as d:
        os.chmod(d, 0o755)
        yield pathlib.Path(d)


def test_unit_sandbox_allows_what_gralarm_does(installed, readable_tmp):
    """gralarm serving (ingest over TCP and UDP, forwarding, a rule raising an alert,
    a command notification, the web page and API, a backup, SIGHUP, SIGTERM) as the
    gralarm user
    under strace: every system call it and its notification command make is in the
    unit's SystemCallFilter, every socket in its RestrictAddressFamilies, and every
    file it writes under /var/lib/gralarm (ReadWritePaths) or /tmp (PrivateTmp)."""
    ingest, api = harness.free_port(), harness.free_port()
    sink = harness.LineSink()
    # The store where the unit has it; an empty one, as after installation.
    assert gralarm_processes() == []
    assert os.listdir(STATE) == []
    rules = readable_tmp / "rules.toml"
    rules.write_text('[[rules]]\nid = "pkg-test"\npattern = "pkg.test.*"\n'
                     'thresholds = { critical = 1 }\nchannels = ["cmd"]\n')
    config = readable_tmp / "gralarm.toml"
    config.write_text(f"""
[ingest]
listen = "127.0.0.1:{ingest}"
workers = 1
[[forward.destinations]]
address = "{sink.address}"
[api]
listen = "127.0.0.1:{api}"
[rules]
files = ["{rules}"]
[self_metrics]
carbon_interval_s = 1
[[notify.channels]]
name = "cmd"
type = "command"
command = ["/bin/sh", "-c", "cat > /tmp/gralarm-pkg-test-$$; rm -f /tmp/gralarm-pkg-test-$$"]
""")
    trace = readable_tmp / "trace"
    proc = subprocess.Popen(["strace", "-f", "-qq", "-o", str(trace), "-u", "gralarm",
                             "/usr/bin/gralarm", "serve", "-c", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        harness.wait_until(lambda: proc.poll() is not None or harness.port_open(api),
                           what="gralarm's API")
        assert proc.poll() is None, proc.stdout.read().decode()
        [gralarm_pid] = children(proc.pid)
        now = int(time.time())
        harness.send_tcp(ingest, f"pkg.test.tcp 5 {now}\n".encode())
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.sendto(f"pkg.test.udp 0 {now}\n".encode(), ("127.0.0.1", ingest))
        harness.wait_until(
            lambda: len([x for x in sink.snapshot() if x.startswith(b"pkg.")]) == 2,
            what="both points forwarded")

        def metrics():
            with urllib.request.urlopen(f"http://127.0.0.1:{api}/metrics") as r:
                return r.read().decode()
        harness.wait_until(
            lambda: re.search(
                r'gralarm_notifications_total\{channel="cmd",result="delivered"\} 1',
                metrics()), what="the command notification")
        for path in ("/", "/api/v1/alerts", "/api/v1/history", "/api/v1/events"):
            with urllib.request.urlopen(f"http://127.0.0.1:{api}{path}") as r:
                assert r.status == 200
        req = urllib.request.Request(f"http://127.0.0.1:{api}/api/v1/backup", method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            assert r.status == 201
        os.kill(gralarm_pid, signal.SIGHUP)
        time.sleep(1.5)
        os.kill(gralarm_pid, signal.SIGTERM)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            # strace killed first would leave gralarm running, detached.
            for pid in children(proc.pid):
                os.kill(pid, signal.SIGKILL)
            proc.kill()
            proc.wait()
        sink.close()
        subprocess.run(["rm", "-rf"] + [os.path.join(STATE, n) for n in os.listdir(STATE)])
    log = proc.stdout.read().decode()
    assert proc.returncode == 0, log

    calls, families, written = set(), set(), set()
    with open(trace) as f:
        for line in f:
            m = re.match(r"^\d+\s+([a-z0-9_]+)\((.*)", line)
            if not m:
                continue
            name, args = m.groups()
            calls.add(name)
            if name == "socket":
                families.add(args.split(",")[0])
            if re.search(r"= -1 E", line):
                continue
            opened = re.match(r'(?:AT_FDCWD, )?"([^"]+)", (\S+)', args)
            if name in ("open", "openat", "creat") and opened and re.search(
                    r"O_WRONLY|O_RDWR|O_CREAT", opened.group(2)):
                written.add(opened.group(1))
            elif name in ("mkdir", "mkdirat", "rename", "renameat", "renameat2", "unlink",
                          "unlinkat", "link", "linkat", "rmdir", "symlink", "truncate"):
                written.update(re.findall(r'"(/[^"]*)"', args))
    assert calls - unit_syscall_filter() == set()
    assert families <= {"AF_UNIX", "AF_INET", "AF_INET6"}, families
    # /proc/self/task/*/comm: thread names, a process's own business under ProtectProc.
    outside = {p for p in written
               if not p.startswith((STATE + "/", "/tmp/", "/dev/null", "/proc/self/task/"))}
    assert outside == set()


def test_reinstall_and_remove_keep_the_edited_config(installed):
    with open(CONFIG, "a") as f:
        f.write("# edited by the operator\n")
    res = run("dpkg", "-i", installed, check=False)  # an upgrade in place
    assert res.returncode == 0, res.stdout + res.stderr
    with open(CONFIG) as f:
        assert f.read().endswith("# edited by the operator\n")

    res = run("dpkg", "-r", "gralarm", check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert package_status().startswith("rc")
    assert not os.path.exists("/usr/bin/gralarm")
    assert not os.path.exists(UNIT)
    with open(CONFIG) as f:
        assert f.read().endswith("# edited by the operator\n")
    assert os.path.isdir(STATE), "removal keeps the store"

    res = run("dpkg", "--purge", "gralarm", check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert package_status() == ""
    assert not os.path.exists(CONFIG)
    assert not os.path.exists(STATE)
    assert not os.path.exists("/etc/systemd/system/multi-user.target.wants/gralarm.service")

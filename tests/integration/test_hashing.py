"""Routing matches Debian's carbon-c-relay 3.7 and Graphite's carbon-relay exactly."""

import functools
import random
import socket
import subprocess
import sys
import threading

import pytest

from harness import (GRALARM_BIN, Gralarm, LineSink, free_port, port_open, send_tcp,
                     wait_until)

sys.path.insert(0, "/usr/lib/python3/dist-packages")
# Graphite's own carbon-relay code (Debian's graphite-carbon), not a copy of it.
from carbon.conf import Settings  # noqa: E402
from carbon.routers import ConsistentHashingRouter  # noqa: E402
from carbon.util import parseDestinations  # noqa: E402

NAMES = 10000
LAYOUT_NAMES = 5000

# Cluster shapes: (destinations as (host, port, instance or None), replication).
SHAPES = {
    "three_hosts_no_instances_r1": ([("127.0.0.1", 2103, None), ("127.0.0.2", 2103, None),
                                     ("127.0.0.3", 2103, None)], 1),
    "four_instances_one_host_r2": ([("127.0.0.1", 2103, "a"), ("127.0.0.1", 2203, "b"),
                                    ("127.0.0.1", 2303, "c"), ("127.0.0.1", 2403, "d")], 2),
    "five_mixed_r2": ([("10.0.0.1", 2003, "1"), ("10.0.0.2", 2003, "2"),
                       ("10.0.0.3", 2103, None), ("10.0.0.4", 2003, "10"),
                       ("10.0.0.5", 2004, None)], 2),
    # Several carbon-caches a host, the usual Graphite layout.
    "three_hosts_two_instances_r2": ([("10.0.0.1", 2004, "a"), ("10.0.0.1", 2104, "b"),
                                      ("10.0.0.2", 2004, "a"), ("10.0.0.2", 2104, "b"),
                                      ("10.0.0.3", 2004, "a"), ("10.0.0.3", 2104, "b")], 2),
    "two_hosts_three_instances_r3": ([("10.0.0.1", 2004, "a"), ("10.0.0.1", 2104, "b"),
                                      ("10.0.0.1", 2204, "c"), ("10.0.0.2", 2004, "a"),
                                      ("10.0.0.2", 2104, "b"), ("10.0.0.2", 2204, "c")], 3),
}


def generated_names(n, seed=11):
    rng = random.Random(seed)
    words = ["cgnat", "ethtrunk", "util_pct", "input", "output", "cpu", "load", "mem",
             "if", "octets", "errors", "bgp", "peers", "r\u00e9seau", "x-1", "A_b"]
    names = set()
    while len(names) < n:
        depth = rng.randint(1, 7)
        parts = [rng.choice(words) + (str(rng.randint(0, 999)) if rng.random() < 0.5 else "")
                 for _ in range(depth)]
        names.add(".".join(parts))
    return sorted(names)


def address(d):
    return f"{d[0]}:{d[1]}"


def relay_routes(tmp_path, method, dests, replication, names):
    """{name: [host:port, ...]} as `carbon-c-relay -t` prints them."""
    servers = " ".join(address(d) + (f"={d[2]}" if d[2] else "") for d in dests)
    conf = tmp_path / "relay.conf"
    conf.write_text(f"cluster c {method} replication {replication} {servers};\n"
                    "match * send to c stop;\n")
    out = subprocess.run(["carbon-c-relay", "-t", "-f", str(conf)],
                         input="\n".join(names) + "\n", capture_output=True, text=True,
                         check=True).stdout
    routes, current = {}, None
    for line in out.splitlines():
        if line.startswith("    * -> "):
            current = line[len("    * -> "):]
            routes[current] = []
        elif current is not None and line.startswith("        "):
            routes[current].append(line.strip())
    return routes


def gralarm_routes(tmp_path, method, dests, replication, names, forward_extra=""):
    """{name: [host:port, ...]} as `gralarm match` prints them."""
    toml = f'[forward]\nmethod = "{method}"\nreplication = {replication}\n{forward_extra}'
    for d in dests:
        toml += f'[[forward.destinations]]\naddress = "{address(d)}"\n'
        if d[2]:
            toml += f'instance = "{d[2]}"\n'
    conf = tmp_path / "gralarm.toml"
    conf.write_text(toml)
    out = subprocess.run([GRALARM_BIN, "match", "-c", str(conf)],
                         input="\n".join(names) + "\n", capture_output=True, text=True,
                         check=True).stdout.splitlines()
    routes = {}
    for name_line, dest_line in zip(out[0::3], out[1::3]):
        assert dest_line.startswith("  destinations: ")
        routes[name_line] = [x.split("=")[0] for x in dest_line.split()[1:]]
    return routes


@pytest.mark.parametrize("method", ["carbon_ch", "fnv1a_ch", "jump_fnv1a_ch"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_routes_match_carbon_c_relay(tmp_path, method, shape):
    dests, replication = SHAPES[shape]
    names = generated_names(NAMES)
    want = relay_routes(tmp_path, method, dests, replication, names)
    got = gralarm_routes(tmp_path, method, dests, replication, names)
    assert len(want) == NAMES
    diff = [n for n in names if want[n] != got.get(n)]
    assert not diff, f"{len(diff)} routes differ, e.g. {diff[0]}: " \
                     f"relay {want[diff[0]]} gralarm {got.get(diff[0])}"


def test_carbon_c_relay_does_not_spread_replicas_over_hosts(tmp_path):
    """What README says of carbon_ch with replication: the relay takes the next distinct
    servers on its ring, whatever their host, so two replicas may share a host."""
    dests, replication = SHAPES["three_hosts_two_instances_r2"]
    names = generated_names(NAMES)
    want = relay_routes(tmp_path, "carbon_ch", dests, replication, names)
    shared = [n for n in names if len({a.split(":")[0] for a in want[n]}) < replication]
    assert len(shared) > NAMES // 20


@functools.lru_cache(maxsize=None)
def layout_names():
    return generated_names(LAYOUT_NAMES, seed=5)


def carbon_destinations(hosts, per_host):
    """carbon-relay DESTINATIONS strings, host by host: `h1:2004:a, h1:2104:b, h2:2004:a,
    ...`; with one carbon-cache a host, without instance names."""
    return [f"10.0.{h}.1:{2004 + 100 * i}" + (f":{'abc'[i]}" if per_host > 1 else "")
            for h in range(hosts) for i in range(per_host)]


def carbon_relay_routes(destinations, replication, names, diverse=None):
    """{name: [host:port, ...]} as Graphite's carbon-relay sends them with
    RELAY_METHOD = consistent-hashing; diverse=None leaves DIVERSE_REPLICAS at carbon's
    default."""
    settings = Settings()
    settings.update(RELAY_METHOD="consistent-hashing", REPLICATION_FACTOR=replication)
    if diverse is not None:
        settings.update(DIVERSE_REPLICAS=diverse)
    router = ConsistentHashingRouter(settings)
    for d in parseDestinations(destinations):
        router.addDestination(d)
    return {n: [f"{server}:{port}" for server, port, _ in router.getDestinations(n)]
            for n in names}


def diverse_key(diverse):
    return "" if diverse is None else f"diverse_replicas = {str(diverse).lower()}\n"


# Hosts 2-8 with 1-3 carbon-caches each, replication 1-3 (a replication above the number
# of destinations is refused by gralarm's config).
LAYOUTS = [(hosts, per_host, replication) for hosts in range(2, 9) for per_host in (1, 2, 3)
           for replication in (1, 2, 3) if replication <= hosts * per_host]


@pytest.mark.parametrize("diverse", [None, True, False], ids=["default", "true", "false"])
@pytest.mark.parametrize("hosts", range(2, 9))
def test_carbon_ch_fixed_matches_graphite_carbon_relay(tmp_path, hosts, diverse):
    names = layout_names()
    checked = 0
    for _, per_host, replication in [x for x in LAYOUTS if x[0] == hosts]:
        destinations = carbon_destinations(hosts, per_host)
        want = carbon_relay_routes(destinations, replication, names, diverse)
        got = gralarm_routes(tmp_path, "carbon_ch_fixed", parseDestinations(destinations),
                             replication, names, diverse_key(diverse))
        diff = [n for n in names if got.get(n) != want[n]]
        assert not diff, (f"{per_host} a host, replication {replication}: {len(diff)} of "
                          f"{len(names)} routes differ, e.g. {diff[0]}: carbon-relay "
                          f"{want[diff[0]]} gralarm {got.get(diff[0])}")
        checked += 1
    assert checked == len([x for x in LAYOUTS if x[0] == hosts])


def test_diverse_replicas_changes_routes_where_hosts_hold_several_caches(tmp_path):
    """The layout of the report: two carbon-caches a host, replication 2. carbon-relay's
    default puts the second replica on another host; gralarm's default does the same,
    and diverse_replicas = false gives carbon-relay's DIVERSE_REPLICAS = False walk."""
    names = layout_names()
    destinations = carbon_destinations(4, 2)
    dests = parseDestinations(destinations)
    default = gralarm_routes(tmp_path, "carbon_ch_fixed", dests, 2, names)
    plain = gralarm_routes(tmp_path, "carbon_ch_fixed", dests, 2, names,
                           "diverse_replicas = false\n")
    assert all(len({a.split(":")[0] for a in default[n]}) == 2 for n in names)
    changed = [n for n in names if default[n] != plain[n]]
    assert len(changed) > len(names) // 20
    assert all(default[n][0] == plain[n][0] for n in names)


class HostSink(LineSink):
    """A LineSink on another loopback address, so that destinations differ by host."""

    def __init__(self, host):  # LineSink.__init__ would bind 127.0.0.1
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.address = f"{host}:{self.port}"
        self.lines = []
        self.lock = threading.Lock()
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()


def sinks_for(hosts, per_host):
    """Sinks and their carbon-relay DESTINATIONS strings, host h on 127.0.0.(h+1)."""
    sinks = [HostSink(f"127.0.0.{h + 1}") for h in range(hosts) for _ in range(per_host)]
    return sinks, [s.address + (f":{'abc'[k % per_host]}" if per_host > 1 else "")
                   for k, s in enumerate(sinks)]


def placed(sinks):
    """{name: sorted [host:port, ...]} of the lines the sinks received."""
    out = {}
    for s in sinks:
        for line in s.snapshot():
            out.setdefault(line.split(b" ")[0].decode(), []).append(s.address)
    return {n: sorted(a) for n, a in out.items()}


# Live layouts: every host count, per-host count and replication of the grid above,
# fewer hosts than replicas included.
LIVE_LAYOUTS = [(2, 3, 3), (3, 2, 2), (4, 3, 3), (5, 1, 3), (6, 2, 1), (7, 3, 2), (8, 2, 3)]


@pytest.mark.parametrize("hosts,per_host,replication", LIVE_LAYOUTS)
def test_carbon_ch_fixed_forwards_live_where_graphite_carbon_relay_would(
        tmp_path, hosts, per_host, replication):
    names = layout_names()
    sinks, destinations = sinks_for(hosts, per_host)
    try:
        want = carbon_relay_routes(destinations, replication, names)
        gralarm = Gralarm(str(tmp_path), [(f"{h}:{p}", i) if i else f"{h}:{p}"
                                          for h, p, i in parseDestinations(destinations)],
                          method="carbon_ch_fixed", replication=replication).start()
        send_tcp(gralarm.port, "".join(f"{n} 1 1700000000\n" for n in names).encode())
        total = sum(len(w) for w in want.values())
        wait_until(lambda: sum(len(s.snapshot()) for s in sinks) >= total, 30,
                   what="gralarm output")
        assert gralarm.stop()[0] == 0
        got = placed(sinks)
        diff = [n for n in names if got.get(n) != sorted(want[n])]
        assert not diff, (f"{len(diff)} of {len(names)} differ, e.g. {diff[0]}: "
                          f"carbon-relay {want[diff[0]]} gralarm {got.get(diff[0])}")
    finally:
        for s in sinks:
            s.close()


def test_carbon_ch_replicas_live_match_the_running_carbon_c_relay(tmp_path):
    """carbon_ch with replication over hosts holding several caches: the running
    carbon-c-relay and gralarm put every point on the same destinations."""
    sinks, _ = sinks_for(3, 2)
    servers = " ".join(f"{s.address}={'ab'[k % 2]}" for k, s in enumerate(sinks))
    names = [n for n in layout_names() if n.isascii()][:3000]
    payload = "".join(f"{n} 1 1700000000\n" for n in names).encode()
    relay_port = free_port()
    conf = tmp_path / "relay.conf"
    conf.write_text(f"cluster c carbon_ch replication 2 {servers};\n"
                    "match * send to c stop;\n")
    relay = subprocess.Popen(["carbon-c-relay", "-f", str(conf), "-p", str(relay_port),
                              "-w", "1", "-H", "itest"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: port_open(relay_port), 10, what="carbon-c-relay")
        send_tcp(relay_port, payload)
        wait_until(lambda: sum(len(s.snapshot()) for s in sinks) >= 2 * len(names), 60,
                   what="relay output")
    finally:
        relay.terminate()
        relay.wait()
    relay_placed = placed(sinks)
    for s in sinks:
        with s.lock:
            s.lines.clear()
    gralarm = Gralarm(str(tmp_path), [(s.address, "ab"[k % 2]) for k, s in enumerate(sinks)],
                      method="carbon_ch", replication=2).start()
    send_tcp(gralarm.port, payload)
    wait_until(lambda: sum(len(s.snapshot()) for s in sinks) >= 2 * len(names), 60,
               what="gralarm output")
    assert gralarm.stop()[0] == 0
    gralarm_placed = placed(sinks)
    for s in sinks:
        s.close()
    assert len(relay_placed) == len(names)
    assert gralarm_placed == relay_placed
    # Some points have both copies on one host: carbon-c-relay does not spread by host.
    assert any(len({a.split(":")[0] for a in v}) == 1 for v in relay_placed.values())


@pytest.mark.parametrize("method", ["forward", "any_of", "carbon_ch", "fnv1a_ch",
                                    "jump_fnv1a_ch"])
def test_diverse_replicas_is_refused_for_other_methods(tmp_path, method):
    conf = tmp_path / "gralarm.toml"
    conf.write_text(f'[forward]\nmethod = "{method}"\ndiverse_replicas = true\n'
                    '[[forward.destinations]]\naddress = "127.0.0.1:2004"\n')
    r = subprocess.run([GRALARM_BIN, "check-config", "-c", str(conf)], capture_output=True,
                       text=True)
    assert r.returncode != 0
    assert "diverse_replicas applies to carbon_ch_fixed only" in r.stderr
    conf.write_text('[forward]\nmethod = "carbon_ch_fixed"\ndiverse_replicas = false\n'
                    '[[forward.destinations]]\naddress = "127.0.0.1:2004"\n')
    r = subprocess.run([GRALARM_BIN, "check-config", "-c", str(conf)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr


def test_tagged_series_land_with_their_untagged_twin_like_the_live_relay(tmp_path):
    """The live carbon-c-relay hashes a tagged name without its tags; so does gralarm."""
    sinks = [LineSink() for _ in range(3)]
    dests = [(s.address, str(i)) for i, s in enumerate(sinks)]
    # ASCII only: the live relay rewrites bytes outside its allowed set, while gralarm
    # forwards names as they came (the -t tests above cover UTF-8 names).
    names = [n for n in generated_names(2600, seed=3) if n.isascii()][:2000]
    lines = []
    for i, n in enumerate(names):
        lines.append(f"{n} 1 1700000000\n")
        lines.append(f"{n};host=h{i % 7};dc=x 2 1700000000\n")
    payload = "".join(lines).encode()

    def where(sinks):
        placed = {}
        for idx, s in enumerate(sinks):
            for line in s.snapshot():
                placed[line.split(b" ")[0].decode()] = idx
        return placed

    # The real relay, in front of the three sinks.
    relay_port = free_port()
    servers = " ".join(f"{s.address}={i}" for i, s in enumerate(sinks))
    conf = tmp_path / "relay.conf"
    conf.write_text(f"cluster c carbon_ch replication 1 {servers};\n"
                    "match * send to c stop;\n")
    relay = subprocess.Popen(["carbon-c-relay", "-f", str(conf), "-p", str(relay_port),
                              "-w", "1", "-H", "itest"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: port_open(relay_port), 10, what="carbon-c-relay")
        send_tcp(relay_port, payload)
        wait_until(lambda: sum(len(s.snapshot()) for s in sinks) >= len(lines), 20,
                   what="relay output")
    finally:
        relay.terminate()
        relay.wait()
    relay_placed = where(sinks)
    for s in sinks:
        with s.lock:
            s.lines.clear()

    gralarm = Gralarm(str(tmp_path), dests, method="carbon_ch").start()
    send_tcp(gralarm.port, payload)
    wait_until(lambda: sum(len(s.snapshot()) for s in sinks) >= len(lines), 20,
               what="gralarm output")
    assert gralarm.stop()[0] == 0
    gralarm_placed = where(sinks)
    assert len(relay_placed) == len(lines)
    assert gralarm_placed == relay_placed
    for n in names[:50]:
        assert gralarm_placed[n] == gralarm_placed[f"{n};host=h{names.index(n) % 7};dc=x"]


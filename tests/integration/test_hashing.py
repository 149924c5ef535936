"""Routing matches Debian's carbon-c-relay 3.7 and Graphite's carbon-relay exactly."""

import random
import subprocess
import sys
import time

import pytest

from harness import (GRALARM_BIN, Gralarm, LineSink, free_port, port_open, send_tcp,
                     wait_until)

sys.path.insert(0, "/usr/lib/python3/dist-packages")
from carbon.hashing import ConsistentHashRing  # noqa: E402  Graphite's own ring

NAMES = 10000

# Cluster shapes: (destinations as (host, port, instance or None), replication).
SHAPES = {
    "three_hosts_no_instances_r1": ([("127.0.0.1", 2103, None), ("127.0.0.2", 2103, None),
                                     ("127.0.0.3", 2103, None)], 1),
    "four_instances_one_host_r2": ([("127.0.0.1", 2103, "a"), ("127.0.0.1", 2203, "b"),
                                    ("127.0.0.1", 2303, "c"), ("127.0.0.1", 2403, "d")], 2),
    "five_mixed_r2": ([("10.0.0.1", 2003, "1"), ("10.0.0.2", 2003, "2"),
                       ("10.0.0.3", 2103, None), ("10.0.0.4", 2003, "10"),
                       ("10.0.0.5", 2004, None)], 2),
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


def gralarm_routes(tmp_path, method, dests, replication, names):
    """{name: [host:port, ...]} as `gralarm match` prints them."""
    toml = f'[forward]\nmethod = "{method}"\nreplication = {replication}\n'
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


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_carbon_ch_fixed_matches_graphite_carbon_relay(tmp_path, shape):
    dests, replication = SHAPES[shape]
    names = generated_names(NAMES, seed=5)
    ring = ConsistentHashRing([(d[0], d[2]) for d in dests])
    by_key = {(d[0], d[2]): address(d) for d in dests}
    got = gralarm_routes(tmp_path, "carbon_ch_fixed", dests, replication, names)
    diff = []
    for n in names:
        want = [by_key[k] for k in list(ring.get_nodes(n))[:replication]]
        if got[n] != want:
            diff.append((n, want, got[n]))
    assert not diff, f"{len(diff)} routes differ, e.g. {diff[0]}"


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


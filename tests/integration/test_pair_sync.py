"""Rules, templates and silences replicated between the two nodes of a pair: writes on
either node reach the other, through kill -9 of either node and a peer that is down;
deletes are not resurrected; conflicting writes converge on the newest on both nodes."""

import json
import os
import urllib.error
import urllib.request

from harness import Gralarm, LineSink, free_port, metric, wait_until

TOKEN = "pair-secret"


def call(g, method, path, body=None, token=TOKEN):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{g.api_port}{path}", data=data,
                                 method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            text, status = r.read().decode(), r.status
    except urllib.error.HTTPError as e:
        text, status = e.read().decode(), e.code
    except OSError:
        return None, None
    return status, (json.loads(text) if text else None)


def rule(rid, warning):
    return {"id": rid, "pattern": "srv.*.cpu", "thresholds": {"warning": warning}}


def warning_of(g, rid):
    """The rule's warning threshold on node g; None when it has no such rule."""
    status, body = call(g, "GET", f"/api/v1/rules/{rid}", token=None)
    return body["thresholds"]["warning"] if status == 200 else None


def has(g, path):
    return call(g, "GET", path, token=None)[0] == 200


def silence_ids(g):
    status, body = call(g, "GET", "/api/v1/silences", token=None)
    return {x["id"] for x in body["items"]} if status == 200 else None


def make_pair(tmp_path):
    sink = LineSink()
    nodes = []
    for name in ("a", "b"):
        workdir = tmp_path / name
        os.makedirs(workdir)
        nodes.append(Gralarm(str(workdir), [sink.address]))
    a, b = nodes
    copy_ports = {"a": free_port(), "b": free_port()}
    for me, peer in ((a, b), (b, a)):
        me_id, peer_id = ("a", "b") if me is a else ("b", "a")
        # cluster.listen/peers are the point copy path's; this file needs only the
        # peer APIs, and a copy port nobody listens on is harmless here.
        me.sections = (
            f'[cluster]\nnode_id = "{me_id}"\n'
            f'listen = "127.0.0.1:{copy_ports[me_id]}"\n'
            f'peers = ["127.0.0.1:{copy_ports[peer_id]}"]\n'
            f'peer_apis = ["http://127.0.0.1:{peer.api_port}"]\n'
            f'peer_token = "{TOKEN}"\ntimeout_ms = 1000\n')
        me.write_config([sink.address])
        text = open(me.config_path).read().replace("[api]\n", f'[api]\ntoken = "{TOKEN}"\n')
        open(me.config_path, "w").write(text)
    return a, b, sink


def kill9(g):
    g.proc.kill()
    g.proc.wait()
    g.log.close()


def queued(g):
    m = g.metrics()
    return sum(v for (name, labels), v in m.items()
               if name == "gralarm_sync_records_queued")


def sent(g):
    m = g.metrics()
    return sum(v for (name, labels), v in m.items()
               if name == "gralarm_sync_records_sent_total")


def test_records_reach_the_peer_through_outages_and_converge(tmp_path):
    a, b, _ = make_pair(tmp_path)
    a.start()
    b.start()

    # The cluster endpoints take the API token, reads included.
    assert call(b, "GET", "/api/v1/cluster/records", token=None)[0] == 401
    assert call(b, "POST", "/api/v1/cluster/records", {"records": []}, token="x")[0] == 401

    # Written on A: on B soon after.
    assert call(a, "POST", "/api/v1/rules", rule("r1", 10))[0] == 201
    assert call(a, "POST", "/api/v1/templates",
                {"name": "t1", "thresholds": {"warning": 5}})[0] == 201
    status, silence = call(a, "POST", "/api/v1/silences",
                           {"rule": "r1", "ends_at": "2099-01-01T00:00:00Z"})
    assert status == 201, silence
    wait_until(lambda: warning_of(b, "r1") == 10, 20, what="r1 on B")
    wait_until(lambda: has(b, "/api/v1/templates/t1"), 20, what="t1 on B")
    wait_until(lambda: silence["id"] in (silence_ids(b) or ()), 20, what="silence on B")

    # B dies; A changes things meanwhile, then dies too: its queue for B is durable.
    kill9(b)
    assert call(a, "POST", "/api/v1/rules", rule("r2", 20))[0] == 201
    assert call(a, "PUT", "/api/v1/rules/r1", rule("r1", 11))[0] == 200
    assert call(a, "DELETE", "/api/v1/templates/t1")[0] == 204
    wait_until(lambda: queued(a) >= 3, 10, what="A's queue for B")
    kill9(a)
    a.start()
    assert queued(a) >= 3, "the sync queue did not survive kill -9"

    # B returns: it has r2, r1's new version, and no template.
    b.start()
    wait_until(lambda: warning_of(b, "r2") == 20, 20, what="r2 on B")
    wait_until(lambda: warning_of(b, "r1") == 11, 20, what="r1 updated on B")
    wait_until(lambda: not has(b, "/api/v1/templates/t1"), 20, what="t1 deleted on B")
    assert silence["id"] in silence_ids(b)

    # Written on B: on A.
    assert call(b, "POST", "/api/v1/rules", rule("r3", 30))[0] == 201
    assert call(b, "DELETE", f"/api/v1/silences/{silence['id']}")[0] == 204
    wait_until(lambda: warning_of(a, "r3") == 30, 20, what="r3 on A")
    wait_until(lambda: silence["id"] not in silence_ids(a), 20, what="silence deleted on A")

    # Conflicting writes while the link is down: B writes r1 first, A later; both end
    # with A's (the newer) version, and the delete of r3 on B is not undone by A.
    kill9(a)
    assert call(b, "PUT", "/api/v1/rules/r1", rule("r1", 40))[0] == 200
    assert call(b, "DELETE", "/api/v1/rules/r3")[0] == 204
    kill9(b)
    a.start()
    assert call(a, "PUT", "/api/v1/rules/r1", rule("r1", 50))[0] == 200
    b.start()
    wait_until(lambda: warning_of(b, "r1") == 50 and warning_of(a, "r1") == 50, 30,
               what="r1 converged on A's write")
    wait_until(lambda: warning_of(a, "r3") is None, 30, what="r3 deleted on A")
    assert warning_of(b, "r3") is None

    # Both hold the same records, with the same versions, tombstones included.
    def records(g):
        status, body = call(g, "GET", "/api/v1/cluster/records")
        assert status == 200, body
        return sorted(json.dumps(r, sort_keys=True) for r in body["records"])
    wait_until(lambda: records(a) == records(b), 30, what="the same records on A and B")
    assert metric(b.metrics(), "gralarm_sync_records_received_total", result="applied") > 0
    assert a.stop()[0] == 0
    assert b.stop()[0] == 0


def test_a_backlog_over_the_peers_body_limit_is_sent_in_batches(tmp_path):
    """One write queues 60 records of about 30 KB each (1.8 MB, over the 1 MiB a peer's
    API takes in one body): the sync thread sends them in batches of at most 512 KiB,
    so the peer gets every one (one POST of them all would be refused with 413, again and
    again)."""
    a, b, _ = make_pair(tmp_path)
    a.start()
    b.start()
    try:
        ids = [f"big-{i:02d}" for i in range(60)]
        for rid in ids:
            assert call(a, "POST", "/api/v1/rules", rule(rid, 10))[0] == 201
        wait_until(lambda: all(warning_of(b, rid) == 10 for rid in ids), 30,
                   what="the 60 rules on B")
        sent_before = sent(a)
        note = "n" * 30000
        status, body = call(a, "POST", "/api/v1/rules/bulk",
                            {"ids": ids, "set": {"labels": {"note": note}}})
        assert status == 200, body

        def notes_on_b():
            status, body = call(b, "GET", "/api/v1/rules", token=None)
            assert status == 200, body
            return sum(1 for r in body["items"]
                       if r["id"] in ids and r.get("labels", {}).get("note") == note)
        wait_until(lambda: notes_on_b() == 60, 30, what="the 60 changed rules on B")
        wait_until(lambda: queued(a) == 0, 10, what="A's queue for B empty")
        assert sent(a) - sent_before == 60
    finally:
        a.stop()
        b.stop()


def test_cluster_endpoints_are_refused_without_a_cluster(tmp_path):
    g = Gralarm(str(tmp_path), [LineSink().address]).start()
    status, body = call(g, "GET", "/api/v1/cluster/records")
    assert status == 404 and body["error"]["code"] == "no_cluster", body
    status, body = call(g, "POST", "/api/v1/cluster/records", {"records": []})
    assert status == 404 and body["error"]["code"] == "no_cluster", body
    assert g.stop()[0] == 0

"""Concurrent API writes over real HTTP: every write the API answered with
success is in force, and a check the API makes (is this id free?) is never
split from the write it allows."""

import http.client
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from harness import Gralarm, LineSink, send_tcp, wait_until
from test_api import call, rule, start

CLIENTS = 8


class Client:
    """One keep-alive connection, opened before the race starts; each request
    is encoded before the start and sent in one write, so that the clients'
    requests leave within microseconds of each other."""

    def __init__(self, g):
        self.host = f"127.0.0.1:{g.api_port}"
        self.sock = socket.create_connection(("127.0.0.1", g.api_port), timeout=30)
        self.file = self.sock.makefile("rb")

    def encode(self, path, body, pad=0):
        """`pad` bytes of JSON whitespace lengthen the parse, so that the
        requests of one round are all being handled at once even when the
        machine is busy."""
        data = json.dumps(body).encode()
        data = data[:-1] + b" " * pad + data[-1:]
        return (f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                f"\r\n").encode() + data

    def send(self, request):
        self.sock.sendall(request)

    def response(self):
        r = http.client.HTTPResponse(self.sock)
        r.begin()
        text = r.read().decode()
        return r.status, (json.loads(text) if text else None)

    def close(self):
        self.file.close()
        self.sock.close()


def race(g, rounds, request):
    """`rounds` rounds; in each, CLIENTS clients send request(client, round)
    at once. Returns [(client, round, (status, body))]."""
    clients = [Client(g) for _ in range(CLIENTS)]
    barrier = threading.Barrier(CLIENTS)

    def run(k):
        out = []
        for n in range(rounds):
            body = request(k, n)
            encoded = clients[k].encode(*body) if body is not None else None
            barrier.wait()
            if encoded is not None:
                clients[k].send(encoded)
                out.append((k, n, clients[k].response()))
        return out

    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            return [a for part in pool.map(run, range(CLIENTS)) for a in part]
    finally:
        for c in clients:
            c.close()


def alerts_by_series(g):
    items = call(g, "GET", "/api/v1/alerts?limit=1000")[1]["items"]
    return {a["series"]: a for a in items}


def test_concurrent_silences_are_all_in_force(tmp_path):
    g, _ = start(tmp_path)
    assert call(g, "POST", "/api/v1/rules", rule("sil", pattern="sil.*.*"))[0] == 201
    # An alert on every series the silences will cover, raised before them.
    ts = int(time.time()) - 60
    send_tcp(g.port, "".join(f"sil.{i}.a 99 {ts}\n" for i in range(50)).encode())
    wait_until(lambda: len(alerts_by_series(g)) == 50, 15, what="50 alerts")
    assert not any(a["silenced"] for a in alerts_by_series(g).values())

    # 50 silences from 8 clients, 8 at a time, each covering its own series.
    def silence(k, n):
        i = n * CLIENTS + k
        if i >= 50:
            return None
        return ("/api/v1/silences", {"series": f"sil.{i}.*",
                                     "ends_at": "2099-01-01T00:00:00Z",
                                     "created_by": f"client-{k}"}, 100_000)

    answers = race(g, (50 + CLIENTS - 1) // CLIENTS, silence)
    assert [status for _, _, (status, _) in answers] == [201] * 50, answers
    created = {body["id"] for _, _, (_, body) in answers}
    assert len(created) == 50

    listed = call(g, "GET", "/api/v1/silences")[1]["items"]
    assert {s["id"] for s in listed} == created
    # Each silence is in force: the alerts raised before are silenced...
    alerts = alerts_by_series(g)
    assert sorted(s for s, a in alerts.items() if not a["silenced"]) == []
    # ...and so is an alert raised after, on a series only that silence covers.
    send_tcp(g.port, "".join(f"sil.{i}.b 99 {ts}\n" for i in range(50)).encode())
    wait_until(lambda: len(alerts_by_series(g)) == 100, 15, what="100 alerts")
    alerts = alerts_by_series(g)
    assert sorted(s for s, a in alerts.items() if not a["silenced"]) == []
    assert g.stop()[0] == 0


def test_concurrent_creates_of_one_rule_id_give_one_201_and_the_rest_409(tmp_path):
    g, _ = start(tmp_path)
    rounds = 20

    # In round n every client creates "race-n"; each client's rule differs
    # (its warning threshold), so the rule in force tells whose create won.
    def create(k, n):
        return ("/api/v1/rules", rule(f"race-{n}", thresholds={"warning": 10 + k}),
                900_000)

    answers = race(g, rounds, create)
    for n in range(rounds):
        this = [(k, a) for k, m, a in answers if m == n]
        statuses = sorted(status for _, (status, _) in this)
        assert statuses == [201] + [409] * (CLIENTS - 1), (n, this)
        for _, (status, body) in this:
            if status == 409:
                assert body["error"]["code"] == "conflict", body
        winner = next(k for k, (status, _) in this if status == 201)
        # The rule in force is the one the 201 answered: nothing overwrote it.
        status, body = call(g, "GET", f"/api/v1/rules/race-{n}")
        assert status == 200
        assert body["thresholds"]["warning"] == 10 + winner, (n, winner, body)
    assert g.stop()[0] == 0

"""Helpers shared by the bench scripts. Everything listens on 127.0.0.1 only."""
import socket
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


def write_gralarm_config(work, port, sink_port, rules_toml, api_port=None, more=""):
    """Writes <work>/rules.toml and <work>/gralarm.toml (ingest on `port`, one destination
    on `sink_port`, store under `work`, no self-metrics) and returns the config's path."""
    import os
    rules = os.path.join(work, "rules.toml")
    with open(rules, "w") as f:
        f.write(rules_toml)
    conf = os.path.join(work, "gralarm.toml")
    with open(conf, "w") as f:
        f.write(f'[ingest]\nlisten = "127.0.0.1:{port}"\n'
                f'[api]\nlisten = "127.0.0.1:{api_port or free_port()}"\n'
                f'[self_metrics]\ncarbon_interval_s = 0\n'
                f'[store]\npath = "{os.path.join(work, "store")}"\n'
                f'[rules]\nfiles = ["{rules}"]\n'
                f'[[forward.destinations]]\naddress = "127.0.0.1:{sink_port}"\n{more}')
    return conf

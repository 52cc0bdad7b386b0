#!/usr/bin/env python3
"""Spike for issue 15: does deleting a message from a replicated JetStream stream erase it from disk?

What it does (everything on 127.0.0.1, in a fresh temp dir, bounded in time):
  1. starts a 3-node NATS cluster with JetStream (one config file and one store dir per node);
  2. creates one R3 file-storage stream per deletion method and publishes, into each, filler
     messages and a few "submissions" carrying a unique marker string (standing for a raw subject
     identifier), small (< 256 bytes) and large (> 256 bytes: the size above which 2.9 S2-compresses
     stream messages in its raft proposals);
  3. deletes the marked messages in every way JetStream offers: STREAM.MSG.DELETE with secure
     erase (the default) and with no_erase, STREAM.PURGE with a subject filter, STREAM.PURGE of
     everything, STREAM.DELETE; one control stream keeps its messages;
  4. publishes into one more stream the same kind of submission with its personal part sealed
     client-side (ChaCha20-Poly1305 from Python's `cryptography`) under a per-message key held
     outside NATS, "applies" it, destroys the key;
  5. scans EVERY file under the three store dirs for every marker (raw bytes, and its hex and
     base64 forms) after publishing, after the deletions have replicated, after a graceful restart
     of one node, after a leader step-down of every stream, then every --poll seconds until
     --max-wait (2.9 snapshots a stream's raft log on a 2-minute timer), with n2 killed (SIGKILL)
     right after the deletions, then after n2 comes back, after a graceful restart of n3, after a
     leader step-down of every stream, and with every server stopped; it prints which files hold
     which marker at each point and a summary.

Run by hand (not part of scripts/bootstrap.sh or scripts/test.sh):
    apt-get install -y nats-server          # Debian bookworm: 2.9.10
    pip install nats-py cryptography        # (--break-system-packages or a venv if pip asks)
    python3 scripts/spikes/nats_erasure.py [--max-wait 200] [--poll 20] [--keep-dir]

Every nats-server it starts runs in its own process group and is killed (SIGTERM, then SIGKILL)
on exit, failure or Ctrl-C. The whole run is bounded by --deadline seconds (default 600).
"""

import argparse
import asyncio
import base64
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import nats

try:
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
except ImportError:  # pragma: no cover
    ChaCha20Poly1305 = None

NODES = ("n1", "n2", "n3")
RUN_ID = secrets.token_hex(4)

# One stream per deletion method; the marked messages of each carry markers of their own.
METHODS = {
    "delete_secure": "STREAM.MSG.DELETE, secure erase (no_erase=false, the default)",
    "delete_no_erase": "STREAM.MSG.DELETE with no_erase=true",
    "purge_subject": "STREAM.PURGE with filter=<the marked messages' subject>",
    "purge_all": "STREAM.PURGE (everything)",
    "stream_delete": "STREAM.DELETE",
    "kept": "control: not deleted",
}
FILLERS = 20


def log(*a):
    print(*a, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """Three nats-server processes, each in its own process group."""

    def __init__(self, root):
        self.root = root
        self.procs = {}
        self.ports = {n: (free_port(), free_port(), free_port()) for n in NODES}  # client, route, http
        self.store = {n: os.path.join(root, n, "store") for n in NODES}
        routes = ", ".join(f"nats-route://127.0.0.1:{self.ports[n][1]}" for n in NODES)
        for n in NODES:
            os.makedirs(self.store[n], exist_ok=True)
            c, r, h = self.ports[n]
            with open(self.conf(n), "w") as f:
                f.write(
                    f"server_name: {n}\n"
                    f"listen: 127.0.0.1:{c}\n"
                    f"http: 127.0.0.1:{h}\n"
                    f"jetstream {{\n  store_dir: \"{self.store[n]}\"\n"
                    f"  max_memory_store: 64MB\n  max_file_store: 1GB\n}}\n"
                    f"cluster {{\n  name: spike\n  listen: 127.0.0.1:{r}\n  routes: [{routes}]\n}}\n"
                )

    def conf(self, n):
        return os.path.join(self.root, n, "nats.conf")

    def start(self, n):
        logf = open(os.path.join(self.root, n, "server.log"), "ab")
        self.procs[n] = subprocess.Popen(
            ["nats-server", "-c", self.conf(n)],
            stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
        logf.close()

    def stop(self, n, graceful=True):
        p = self.procs.pop(n, None)
        if p is None or p.poll() is not None:
            return
        try:
            os.killpg(p.pid, signal.SIGTERM if graceful else signal.SIGKILL)
            p.wait(timeout=15)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=5)

    def stop_all(self):
        for n in list(self.procs):
            self.stop(n)

    def urls(self):
        return [f"nats://127.0.0.1:{self.ports[n][0]}" for n in NODES]


# ---------------------------------------------------------------- JetStream API (raw requests)

async def api(nc, subject, body=None, timeout=5.0, tries=10):
    """A $JS.API request, retried while the cluster has no leader yet (bounded)."""
    last = None
    for _ in range(tries):
        try:
            msg = await nc.request("$JS.API." + subject,
                                   json.dumps(body).encode() if body is not None else b"",
                                   timeout=timeout)
            resp = json.loads(msg.data)
            err = resp.get("error")
            if err and err.get("code") in (503, 500) or (err and "leader" in err.get("description", "").lower()):
                last = err
                await asyncio.sleep(1)
                continue
            return resp
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError) as e:
            last = e
            await asyncio.sleep(1)
    raise RuntimeError(f"{subject}: no answer ({last})")


async def wait_current(nc, stream, timeout=60):
    """Until the stream's leader reports both followers current with no lag."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = await api(nc, f"STREAM.INFO.{stream}")
        cl = info.get("cluster", {})
        reps = cl.get("replicas", [])
        if cl.get("leader") and len(reps) == 2 and all(r.get("current") and not r.get("lag") for r in reps):
            return info
        await asyncio.sleep(0.5)
    raise RuntimeError(f"{stream}: replicas not current after {timeout}s")


# ---------------------------------------------------------------- the scan

def forms(marker):
    b = marker.encode()
    return {"raw": b, "hex": b.hex().encode(), "base64": base64.b64encode(b).rstrip(b"=")}


def scan(cluster, needles):
    """{needle name: sorted list of 'node/relpath (form)'} over every file of the three store dirs."""
    hits = {k: [] for k in needles}
    nfiles = 0
    for n in NODES:
        for dirpath, _, files in os.walk(cluster.store[n]):
            for fn in files:
                p = os.path.join(dirpath, fn)
                try:
                    with open(p, "rb") as f:
                        data = f.read()
                except OSError:
                    continue  # removed while we walked
                nfiles += 1
                rel = n + "/" + os.path.relpath(p, cluster.store[n])
                for k, fs in needles.items():
                    for form, b in fs.items():
                        if b in data:
                            hits[k].append(f"{rel} ({form})")
    return nfiles, {k: sorted(v) for k, v in hits.items()}


def kind_of(path):
    """A short name for what a JetStream 2.9 file is."""
    p = path.split(" ")[0]
    if "/_js_/_meta_/" in p:
        return "meta raft"
    if "/_js_/" in p:
        if "/msgs/" in p:
            return "stream raft WAL"
        if "/snapshots/" in p:
            return "stream raft snapshot"
        return "stream raft other"
    if "/streams/" in p:
        if "/msgs/" in p and p.endswith(".blk"):
            return "stream msg block"
        if "/msgs/" in p:
            return "stream msg index/state"
        return "stream meta"
    return "other"


def summarize(hits):
    out = {}
    for k, v in hits.items():
        kinds = {}
        for h in v:
            kinds.setdefault(kind_of(h), set()).add(h.split("/")[0])
        out[k] = {kind: sorted(nodes) for kind, nodes in sorted(kinds.items())}
    return out


# ---------------------------------------------------------------- the run

async def run(args, cluster, results):
    for n in NODES:
        cluster.start(n)
    nc = await nats.connect(servers=cluster.urls(), connect_timeout=3,
                            max_reconnect_attempts=60, reconnect_time_wait=0.5)
    js = nc.jetstream()
    # Wait for the meta leader (bounded).
    for _ in range(60):
        try:
            msg = await nc.request("$JS.API.INFO", b"", timeout=2)
            if "error" not in json.loads(msg.data):
                break
        except Exception:
            pass
        await asyncio.sleep(1)
    else:
        raise RuntimeError("JetStream meta leader not elected in 60s")
    log(f"cluster up: {cluster.urls()}")

    needles = {}
    seqs = {}
    marked_subject = {}
    for m in METHODS:
        stream = f"S_{m.upper()}"
        resp = await api(nc, f"STREAM.CREATE.{stream}", {
            "name": stream, "subjects": [f"spike.{m}.>"], "storage": "file", "num_replicas": 3,
            "retention": "limits", "discard": "old", "duplicate_window": 120_000_000_000})
        if "error" in resp:
            raise RuntimeError(f"create {stream}: {resp['error']}")
        await wait_current(nc, stream)
        for i in range(FILLERS):
            await js.publish(f"spike.{m}.filler", json.dumps({"filler": i, "pad": "x" * 40}).encode(),
                             headers={"Nats-Msg-Id": f"{m}-filler-{i}"})
        seqs[m] = []
        marked_subject[m] = f"spike.{m}.submission"
        for size in ("small", "large"):
            marker = f"MARKER-{RUN_ID}-{m}-{size}-{secrets.token_hex(8)}@example.com"
            sub = {"event": {"event_id": f"{m}-{size}", "kind": "collection", "system": "crm"},
                   "subject": {"kind": "email", "value": marker}}
            if size == "large":
                sub["details"] = "free-form details " * 20
            payload = json.dumps(sub).encode()
            ack = await js.publish(marked_subject[m], payload, headers={"Nats-Msg-Id": f"{m}-{size}"})
            seqs[m].append(ack.seq)
            needles[f"{m}/{size}"] = forms(marker)
            log(f"published {stream} seq {ack.seq}: {len(payload)} bytes, marker {marker}")
        # A few more fillers after the marked ones, so they are not the stream's last messages.
        for i in range(5):
            await js.publish(f"spike.{m}.filler", b'{"after": %d}' % i, headers={"Nats-Msg-Id": f"{m}-after-{i}"})
        await wait_current(nc, stream)

    # The remedy: the personal part sealed under a per-message key held outside NATS.
    sealed_seqs = []
    keystore = {}  # stands for the replicas' key table (outside NATS)
    sealed_stream = "S_SEALED"
    aead = "none"
    if ChaCha20Poly1305 is not None:
        aead = "ChaCha20-Poly1305 (python cryptography)"
        await api(nc, f"STREAM.CREATE.{sealed_stream}", {
            "name": sealed_stream, "subjects": ["spike.sealed.>"], "storage": "file", "num_replicas": 3})
        await wait_current(nc, sealed_stream)
        for size in ("small", "large"):
            marker = f"MARKER-{RUN_ID}-sealed-{size}-{secrets.token_hex(8)}@example.com"
            personal = json.dumps({"subject": {"kind": "email", "value": marker},
                                   "details": ("free-form details " * 20) if size == "large" else ""}).encode()
            msg_id = f"sealed-{size}"
            key = bytearray(ChaCha20Poly1305.generate_key())
            nonce = secrets.token_bytes(12)
            ct = nonce + ChaCha20Poly1305(bytes(key)).encrypt(nonce, personal, msg_id.encode())
            sealed_b64 = base64.b64encode(ct).decode()
            payload = json.dumps({"event": {"event_id": msg_id, "kind": "collection", "system": "crm"},
                                  "key_id": msg_id, "sealed": sealed_b64}).encode()
            ack = await js.publish("spike.sealed.submission", payload, headers={"Nats-Msg-Id": msg_id})
            keystore[msg_id] = key
            sealed_seqs.append(ack.seq)
            needles[f"sealed/{size}"] = forms(marker)
            needles[f"sealed/{size}/ciphertext"] = {"raw": sealed_b64.encode()}
            log(f"published {sealed_stream} seq {ack.seq}: {len(payload)} bytes, personal part sealed, marker {marker}")
        await wait_current(nc, sealed_stream)

    phases = []

    def record(phase):
        t = round(time.monotonic() - t_del, 1) if t_del else 0.0
        nfiles, hits = scan(cluster, needles)
        phases.append({"phase": phase, "t_after_delete_s": t, "files_scanned": nfiles,
                       "hits": hits, "summary": summarize(hits)})
        log(f"\n== scan: {phase} (t+{t}s after the deletions; {nfiles} files)")
        for k in needles:
            s = summarize({k: hits[k]})[k]
            log(f"  {k:28s} " + ("; ".join(f"{kind}: {','.join(nodes)}" for kind, nodes in s.items()) or "-"))
        return hits

    t_del = None
    record("after publish, replicated")

    # ------------------------------------------------ the deletions
    t_del = time.monotonic()
    for seq in seqs["delete_secure"]:
        log("delete_secure", seq, await api(nc, "STREAM.MSG.DELETE.S_DELETE_SECURE", {"seq": seq}))
    for seq in seqs["delete_no_erase"]:
        log("delete_no_erase", seq, await api(nc, "STREAM.MSG.DELETE.S_DELETE_NO_ERASE", {"seq": seq, "no_erase": True}))
    log("purge_subject", await api(nc, "STREAM.PURGE.S_PURGE_SUBJECT", {"filter": marked_subject["purge_subject"]}))
    log("purge_all", await api(nc, "STREAM.PURGE.S_PURGE_ALL", {}))
    log("stream_delete", await api(nc, "STREAM.DELETE.S_STREAM_DELETE"))
    live = [f"S_{m.upper()}" for m in METHODS if m != "stream_delete"] + ([sealed_stream] if keystore else [])
    for s in live:
        await wait_current(nc, s)

    # "Apply" the sealed messages on every replica (here: read each back from the stream and open
    # it), then destroy the keys: what remains in NATS is ciphertext whose key exists nowhere.
    if keystore:
        for seq in sealed_seqs:
            r = await api(nc, f"STREAM.MSG.GET.{sealed_stream}", {"seq": seq})
            body = json.loads(base64.b64decode(r["message"]["data"]))
            ct = base64.b64decode(body["sealed"])
            key = keystore[body["key_id"]]
            ChaCha20Poly1305(bytes(key)).decrypt(ct[:12], ct[12:], body["key_id"].encode())
            for i in range(len(key)):
                key[i] = 0
            del keystore[body["key_id"]]
        log("sealed messages applied and opened; their keys destroyed (keystore now empty: %s)" % (not keystore))
    await asyncio.sleep(2)
    record("after the deletions replicated (+2 s)")

    # ------------------------------------------------ a crash (SIGKILL) of n2 right after the deletions
    cluster.stop("n2", graceful=False)
    log("\nn2 killed (SIGKILL)")
    record("n2 killed (SIGKILL): its files at rest")

    # ------------------------------------------------ waiting: do the raft logs forget on their own?
    deadline = t_del + args.max_wait
    while time.monotonic() < deadline:
        await asyncio.sleep(min(args.poll, max(0.0, deadline - time.monotonic())))
        # A little traffic so that every stream's raft group keeps moving.
        for m in METHODS:
            if m != "stream_delete":
                await js.publish(f"spike.{m}.filler", b'{"tick": 1}')
        record("waiting (n2 down; no step-down)")

    # ------------------------------------------------ n2 comes back
    cluster.start("n2")
    for s in live:
        await wait_current(nc, s, timeout=90)
    log("n2 restarted, every stream current")
    await asyncio.sleep(2)
    record("n2 restarted and current")

    # ------------------------------------------------ a graceful restart of n3
    cluster.stop("n3")
    log("\nn3 stopped (SIGTERM)")
    record("n3 stopped (SIGTERM)")
    cluster.start("n3")
    for s in live:
        await wait_current(nc, s, timeout=90)
    log("n3 restarted, every stream current")
    record("n3 restarted and current")

    # ------------------------------------------------ a leader step-down of every live stream
    for s in live:
        r = await api(nc, f"STREAM.LEADER.STEPDOWN.{s}")
        log("stepdown", s, r.get("success", r.get("error")))
    for s in live:
        await wait_current(nc, s, timeout=90)
    await asyncio.sleep(2)
    record("after leader step-down of every stream")

    await nc.drain()
    cluster.stop_all()
    record("every server stopped (SIGTERM): files at rest")
    results.update({"nats_server": subprocess.run(["nats-server", "--version"], capture_output=True, text=True).stdout.strip(),
                    "nats_py": getattr(nats, "__version__", "?"), "aead": aead, "methods": METHODS,
                    "phases": phases})


def final_table(results):
    phases = results["phases"]
    log("\n================ summary: where each marker (raw, hex or base64) was found")
    log(f"nats-server {results['nats_server']}; client-side AEAD: {results['aead']}")
    keys = list(phases[0]["hits"].keys())
    for k in keys:
        log(f"\n{k}:")
        for ph in phases:
            s = ph["summary"][k]
            txt = "; ".join(f"{kind} [{','.join(nodes)}]" for kind, nodes in s.items()) or "nowhere"
            log(f"  t+{ph['t_after_delete_s']:>6}s {ph['phase'][:40]:40s} {txt}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-wait", type=float, default=200, help="seconds to watch after the deletions (default 200)")
    ap.add_argument("--poll", type=float, default=20, help="seconds between scans while waiting (default 20)")
    ap.add_argument("--deadline", type=float, default=600, help="hard bound on the whole run (default 600)")
    ap.add_argument("--keep-dir", action="store_true", help="keep the temp dir (store dirs, logs) for inspection")
    ap.add_argument("--json", help="also write the results as JSON to this file")
    args = ap.parse_args()
    if shutil.which("nats-server") is None:
        sys.exit("nats-server not found: apt-get install -y nats-server")

    root = tempfile.mkdtemp(prefix="nats-erasure-spike-")
    cluster = Cluster(root)
    results = {}

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    ok = False
    try:
        asyncio.run(asyncio.wait_for(run(args, cluster, results), timeout=args.deadline))
        final_table(results)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
        ok = True
    finally:
        cluster.stop_all()
        for n in NODES:  # belt and braces: nothing of ours may outlive the run
            p = cluster.procs.get(n)
            if p and p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
        if args.keep_dir or not ok:
            log(f"\ntemp dir kept: {root} (server logs in <node>/server.log)")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

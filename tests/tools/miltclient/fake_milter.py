#!/usr/bin/env python3
"""fake_milter.py - a scripted milter (no libmilter) that answers miltclient
with replies libmilter would never send: progress packets, a header and a
body far over 64 KB in one packet, malformed reply codes, body replacement
interleaved with other edits, actions it did not negotiate, a hang-up, a
zero packet length, SKIP, and "no reply" for every step.  Used by
tests/integration/milter/harness.sh to check that miltclient copes (and
refuses what Postfix would refuse).

Usage: fake_milter.py SOCKET_PATH SCENARIO
Serves one connection on the unix socket SOCKET_PATH, then exits.  The
socket appears (atomically renamed into place) only once it listens.
Scenarios: see SCENARIOS below.
"""
import os
import socket
import struct
import sys

# Constants from libmilter's mfdef.h / mfapi.h.
SMFIF_ALL = 0x1FF
SMFIP_NOCONNECT, SMFIP_NOHELO, SMFIP_SKIP = 0x1, 0x2, 0x400
SMFIP_NR = {  # no-reply flags per command
    b"C": 0x1000, b"H": 0x2000, b"M": 0x4000, b"R": 0x8000, b"T": 0x10000,
    b"L": 0x80, b"N": 0x40000, b"B": 0x80000,
}
NR_ALL = sum(SMFIP_NR.values())


def packet(cmd, data=b""):
    return struct.pack("!I", len(data) + 1) + cmd + data


def read_exact(conn, n):
    out = b""
    while len(out) < n:
        chunk = conn.recv(n - len(out))
        if not chunk:
            raise EOFError
        out += chunk
    return out


def read_packet(conn):
    (length,) = struct.unpack("!I", read_exact(conn, 4))
    data = read_exact(conn, length)
    return data[:1], data[1:]


# Each scenario: (actions, protocol flags, {command: [reply packets]}).
# A command missing from the table gets "continue" (unless no reply is due).
# A list of lists answers successive commands of that type in turn.
SCENARIOS = {
    "progress-big": (SMFIF_ALL, SMFIP_NOCONNECT | SMFIP_NOHELO, {
        b"E": [packet(b"p"), packet(b"p"),
               packet(b"h", b"X-Big\0" + b"x" * 8000 + b"\0"),
               packet(b"b", b"ABC\r\n" * 40000),
               packet(b"p"), packet(b"a")],
    }),
    "rcpt-replycode": (SMFIF_ALL, 0, {
        b"R": [[packet(b"c")], [packet(b"y", b"550 5.1.1 <nobody@secure.test>: no such user\0")]],
    }),
    "all-rcpts-tempfail": (SMFIF_ALL, 0, {b"R": [packet(b"t")]}),
    "bad-replycode": (SMFIF_ALL, 0, {b"E": [packet(b"y", b"250 2.0.0 fine\0")]}),
    "replbody-lockout": (SMFIF_ALL, 0, {
        b"E": [packet(b"b", b"X\r\n"), packet(b"h", b"X-A\0v\0"), packet(b"b", b"Y\r\n"),
               packet(b"c")],
    }),
    "unnegotiated": (0, 0, {b"E": [packet(b"h", b"X-A\0v\0"), packet(b"c")]}),
    "hangup": (SMFIF_ALL, 0, {b"E": None}),
    "connect-tempfail": (SMFIF_ALL, 0, {b"C": [packet(b"t")]}),
    "bad-length": (SMFIF_ALL, 0, {b"E": [struct.pack("!I", 0)]}),
    "skip-body": (SMFIF_ALL, SMFIP_SKIP, {b"B": [[packet(b"s")]]}),
    "nr-all": (SMFIF_ALL, NR_ALL, {
        b"E": [packet(b"m", struct.pack("!I", 1) + b"Subject\0changed by chgheader\0"),
               packet(b"a")],
    }),
}


def serve(conn, name):
    actions, pflags, table = SCENARIOS[name]
    seen = b""  # every command but macros, for the report header
    counts = {}
    while True:
        try:
            cmd, data = read_packet(conn)
        except EOFError:
            return
        if cmd == b"O":
            conn.sendall(packet(b"O", struct.pack("!III", 6, actions, pflags)))
            continue
        if cmd in (b"D", b"A"):
            continue
        if cmd == b"Q":
            return
        seen += cmd
        n = counts.get(cmd, 0)
        counts[cmd] = n + 1
        replies = table.get(cmd)
        if cmd in table and replies is None:  # hang up instead of answering
            conn.close()
            return
        if replies and isinstance(replies[0], list):
            replies = replies[min(n, len(replies) - 1)]
        if replies is None:
            if pflags & SMFIP_NR.get(cmd, 0) and cmd != b"E":
                continue
            replies = [packet(b"c")]
        if cmd == b"E" and name in ("skip-body", "nr-all"):
            report = b"X-Seen\0" + seen + b"\0"
            replies = [packet(b"h", report)] + (replies or [packet(b"c")])
            if name == "skip-body":
                replies = [packet(b"h", report), packet(b"c")]
        conn.sendall(b"".join(replies))


def main():
    path, name = sys.argv[1], sys.argv[2]
    if name not in SCENARIOS:
        sys.exit("fake_milter.py: unknown scenario " + name)
    tmp = path + ".tmp"
    for p in (path, tmp):
        if os.path.exists(p):
            os.unlink(p)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(tmp)
    srv.listen(1)
    os.rename(tmp, path)
    srv.settimeout(20)
    conn, _ = srv.accept()
    try:
        serve(conn, name)
    finally:
        conn.close()
        srv.close()
        os.unlink(path)


if __name__ == "__main__":
    main()

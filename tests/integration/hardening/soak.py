#!/usr/bin/env python3
"""soak.py - mail load through a real Postfix + danemail-milter, and the
check of every delivery (tests/integration/hardening: soak.sh, faults.sh).

    soak.py run --smtp ADDR:PORT --maildir DIR --count N [options]

Sends N messages (ids FIRST..FIRST+N-1), each made from its id alone (seed,
id -> recipients, size, format), with CONC SMTP sessions; every --sendmail-every
th one goes through sendmail(1) instead (Postfix's pickup: a tempfail keeps
it queued in the maildrop and pickup retries it).  An SMTP 4xx is retried
like a client MTA would (new session, back-off) until --retry-for seconds
after the first try; only the expected 451 of a bogus recipient is final.

At the same time it takes every delivered file from the Maildir, checks it
against what policy says for its recipients and deletes it:
  smime     Content-Type application/pkcs7-mime, trace header; decrypted with
            the delivering recipient's key (openssl cms) to exactly the original MIME entity
  openpgp   PGP/MIME (parsed with Python's email package); the armour
            decrypted with rnp and that recipient's secret key alone (gpg when
            rnp fails: rnp 0.16.3 rejects some valid messages, counted apart),
            to exactly the original entity
  clear     no trace header, the body exactly as sent (policy: no key for
            every recipient, partial = clear, already encrypted)
  bogus     must never be delivered (451 at end of data)
A delivery in clear of a message that policy says to encrypt is counted
apart (clear_against_policy) and is the worst failure.

While it runs it samples the milter's VmRSS (pid from --pidfile, re-read at
every sample: a restarted milter is followed).  The summary goes to --report
as JSON; progress lines go to stderr with '# '.
"""
import argparse
import base64
import email
import email.policy
import json
import os
import queue
import random
import re
import smtplib
import subprocess
import sys
import tempfile
import threading
import time

CRLF = b"\r\n"
T0 = time.monotonic()  # reset at the start of run
T0_EPOCH = time.time()

# ---- recipients: address -> (format, key material) from testbed.env ----


def keymap():
    e = os.environ
    smime = {
        "bob@secure.test": ("TB_BOB_RSA_CERT", "TB_BOB_RSA_KEY", "rsa"),
        "bob-ec@secure.test": ("TB_BOB_EC_CERT", "TB_BOB_EC_KEY", "ec"),
        "alice@secure.test": ("TB_ALICE_RSA_CERT", "TB_ALICE_RSA_KEY", "rsa"),
    }
    pgp = {"dave@secure.test": "TB_DAVE_PGP_SEC", "carol@secure.test": "TB_CAROL_PGP_SEC"}
    m = {}
    for a, (c, k, kind) in smime.items():
        m[a] = ("smime", e[c], e[k], kind)
    for a, s in pgp.items():
        m[a] = ("openpgp", e[s], None, "pgp")
    return m


# Categories: (name, weight, recipients, expectation).  "u" stands for a
# fresh uN@secure.test (TB_BENCH_NAMES: bob's certificate under a name no
# cache holds yet).
CATEGORIES = [
    ("smime-rsa", 30, ["bob@secure.test"], "smime"),
    ("smime-fresh", 12, ["u"], "smime"),
    ("smime-ec", 5, ["bob-ec@secure.test"], "smime"),
    ("smime-two", 5, ["bob@secure.test", "alice@secure.test"], "smime"),
    ("pgp-cv25519", 12, ["dave@secure.test"], "openpgp"),
    ("pgp-rsa", 3, ["carol@secure.test"], "openpgp"),
    ("nokey", 10, ["nobody@secure.test"], "clear"),
    ("insecure", 8, ["bob@insecure.test"], "clear"),
    ("partial", 5, ["bob@secure.test", "bob@insecure.test"], "clear"),
    ("already-encrypted", 3, ["bob@secure.test"], "clear"),
    ("bogus", 7, ["bob@bogus.test"], "bogus"),
]
# --mix fresh (DNS faults): every message needs a lookup no cache can answer
FRESH = [
    ("smime-fresh", 80, ["u"], "smime"),
    ("nokey-fresh", 20, ["n"], "clear"),
]
FORMATS = ["text", "qp", "mixed", "alternative", "nocontenttype", "html", "8bit"]


def pick(rng, table):
    total = sum(w for _, w, _, _ in table)
    x = rng.uniform(0, total)
    for row in table:
        x -= row[1]
        if x <= 0:
            return row
    return table[-1]


class Spec:
    """Everything about message ID, derived from (seed, id) alone."""

    def __init__(self, args, mid):
        rng = random.Random("%s:%d" % (args.seed, mid))
        self.id = mid
        table = FRESH if args.mix == "fresh" else CATEGORIES
        name, _, rcpts, expect = pick(rng, table)
        self.category, self.expect = name, expect
        self.rcpts = []
        for r in rcpts:
            if r == "u":
                r = "u%d@secure.test" % (mid % args.names if args.mix == "fresh"
                                         else rng.randrange(args.names))
            elif r == "n":
                r = "none-%s-%d@secure.test" % (args.seed, mid)
            self.rcpts.append(r)
        # sizes: 1 KB - 5 MB, mostly small; every big_every-th message is
        # 1-5 MB (the first of them exactly 5 MB)
        if args.big_every and mid % args.big_every == args.big_every - 1:
            self.size = 5 * 1024 * 1024 if mid < args.first + args.big_every \
                else rng.randint(1 << 20, 5 << 20)
        else:
            r = rng.random()
            if r < 0.75:
                self.size = rng.randint(1024, 8 * 1024)
            elif r < 0.95:
                self.size = rng.randint(8 * 1024, 64 * 1024)
            else:
                self.size = rng.randint(64 * 1024, 1 << 20)
        self.format = "pkcs7" if name == "already-encrypted" else rng.choice(FORMATS)
        self.via_sendmail = bool(args.sendmail_every and mid % args.sendmail_every == 3
                                 and expect != "bogus" and self.format != "8bit")
        self.rng_seed = rng.getrandbits(64)

    def build(self):
        """(message, entity, body): CRLF lines throughout."""
        rng = random.Random(self.rng_seed)
        ch, body = make_body(rng, self.format, self.size)
        hdr = (b"From: Soak <soak@example.test>\r\n"
               b"To: " + ", ".join(self.rcpts).encode() + b"\r\n"
               b"Subject: soak " + str(self.id).encode() + b" " + self.category.encode() + b"\r\n"
               b"Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n"
               b"Message-ID: <soak." + str(self.id).encode() + b"@example.test>\r\n"
               b"X-Test-Id: " + str(self.id).encode() + b"\r\n"
               b"MIME-Version: 1.0\r\n")
        msg = hdr + ch + CRLF + body
        return msg, ch + CRLF + body, body


WORDS = ("the quick brown fox jumps over lazy dog mail milter dane smimea "
         "openpgpkey dnssec zone key record Grüße naïve café ☃").split()


def text_lines(rng, nbytes, dots=True):
    """About nbytes of UTF-8 text lines, drawn from a pool made for this
    message (fast enough for 5 MB)."""
    pool = []
    for _ in range(64):
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
        if dots and rng.random() < 0.1:
            line = "." + line  # SMTP dot-stuffing must be undone exactly
        pool.append(line.encode() + CRLF)
    avg = sum(len(x) for x in pool) / len(pool)
    return b"".join(rng.choices(pool, k=max(1, int(nbytes / avg))))


def b64_lines(data):
    s = base64.b64encode(data)
    return b"".join(s[i:i + 76] + CRLF for i in range(0, len(s), 76))


def make_body(rng, fmt, size):
    """Content-* header lines (CRLF each) and the body, about size bytes."""
    if fmt == "text":
        return (b"Content-Type: text/plain; charset=utf-8\r\n"
                b"Content-Transfer-Encoding: 8bit\r\n", text_lines(rng, size))
    if fmt == "qp":
        body = text_lines(rng, size, dots=False).replace("ü".encode(), b"=C3=BC")
        return (b"Content-Type: text/plain; charset=utf-8\r\n"
                b"Content-Transfer-Encoding: quoted-printable\r\n", body)
    if fmt == "html":
        t = text_lines(rng, size, dots=False)
        return (b"Content-Type: text/html; charset=utf-8\r\n",
                b"<html><body><p>\r\n" + t + b"</p></body></html>\r\n")
    if fmt == "nocontenttype":
        return b"", text_lines(rng, size)
    if fmt == "8bit":
        # 8-bit bytes and tabs, no NUL, no bare CR or LF, lines < 998
        table = bytes(b if b >= 32 or b == 9 else b + 128 for b in range(128)) + \
            bytes(range(128, 256))
        width = rng.randint(10, 200)
        raw = rng.randbytes(max(size - size // (width + 2) * 2, width)).translate(table)
        return (b"Content-Type: application/octet-stream\r\n",
                b"".join(raw[i:i + width] + CRLF for i in range(0, len(raw), width)))
    if fmt == "pkcs7":
        return (b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data; "
                b"name=\"smime.p7m\"\r\nContent-Transfer-Encoding: base64\r\n",
                b64_lines(rng.randbytes(max(size * 3 // 4, 64))))
    bnd = b"=_soak_%016x" % rng.getrandbits(64)
    if fmt == "alternative":
        t = text_lines(rng, size // 2, dots=False)
        body = (b"--" + bnd + b"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + t +
                b"--" + bnd + b"\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>" + t +
                b"</p>\r\n--" + bnd + b"--\r\n")
        return b"Content-Type: multipart/alternative;\r\n boundary=\"" + bnd + b"\"\r\n", body
    # mixed: a short text and an attachment carrying the size
    att = b64_lines(rng.randbytes(max((size - 300) * 3 // 4, 16)))
    body = (b"--" + bnd + b"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
            text_lines(rng, 200) + b"--" + bnd +
            b"\r\nContent-Type: application/octet-stream; name=\"a.bin\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=\"a.bin\"\r\n\r\n" + att +
            b"--" + bnd + b"--\r\n")
    return b"Content-Type: multipart/mixed;\r\n boundary=\"" + bnd + b"\"\r\n", body


# ---- sending ----

class Ledger:
    def __init__(self):
        self.lock = threading.Lock()
        self.state = {}      # id -> accepted|bogus-refused|lost|rejected
        self.deferrals = {}  # id -> number of 4xx / connection failures before the end
        self.latency = {}    # id -> seconds from first try to acceptance
        self.accepted_at = {}  # id -> seconds since T0 when accepted
        self.notes = []

    def set(self, mid, st, lat=None):
        with self.lock:
            self.state[mid] = st
            if lat is not None:
                self.latency[mid] = lat
                self.accepted_at[mid] = round(time.monotonic() - T0, 2)

    def defer(self, mid, why):
        with self.lock:
            self.deferrals[mid] = self.deferrals.get(mid, 0) + 1
            if len(self.notes) < 20:
                self.notes.append("id %d deferred: %s" % (mid, why))


def sender(args, specs, work, ledger, stop):
    host, port = args.smtp.rsplit(":", 1)
    conn = None

    def close():
        nonlocal conn
        if conn is not None:
            try:
                conn.quit()
            except Exception:
                try:
                    conn.close()
                except Exception:
                    pass
            conn = None

    while not stop.is_set():
        try:
            not_before, mid, first, tries = work.get(timeout=0.2)
        except queue.Empty:
            continue
        now = time.monotonic()
        if not_before > now:
            # not yet: put it back behind the others
            work.put((not_before, mid, first, tries))
            time.sleep(min(0.05, not_before - now))
            continue
        if not first:
            first = now
        err = None
        final = None
        try:
            sp = specs(mid)
            msg, _, _ = sp.build()
            if sp.via_sendmail:
                lf = msg.replace(CRLF, b"\n")
                r = subprocess.run(args.sendmail.split() + ["-i", "-f", "soak@example.test", "--"]
                                   + sp.rcpts, input=lf, capture_output=True, timeout=60)
                if r.returncode == 0:
                    final = "accepted"
                else:
                    err = "sendmail exit %d: %s" % (r.returncode, r.stderr[:200])
            else:
                if conn is None:
                    conn = smtplib.SMTP(host, int(port), timeout=120)
                    conn.ehlo("soak.example.test")
                conn.sendmail("soak@example.test", sp.rcpts, msg)
                final = "accepted"
        except smtplib.SMTPDataError as e:
            text = e.smtp_error.decode(errors="replace")
            if e.smtp_code == 451 and sp.expect == "bogus" and "DNSSEC validation failed" in text:
                final = "bogus-refused"
            elif 400 <= e.smtp_code < 500:
                err = "%d %s" % (e.smtp_code, text)
            else:
                final = "rejected"
                err = "%d %s" % (e.smtp_code, text)
            close()
        except Exception as e:  # noqa: BLE001 - connection, timeout, anything: retry
            err = "%s: %s" % (type(e).__name__, e)
            close()
        if final == "accepted":
            ledger.set(mid, final, time.monotonic() - first)
        elif final is not None:
            ledger.set(mid, final)
            if err:
                ledger.notes.append("id %d %s: %s" % (mid, final, err))
        else:
            ledger.defer(mid, err)
            if time.monotonic() - first > args.retry_for:
                ledger.set(mid, "lost")
                ledger.notes.append("id %d lost after %d tries: %s" % (mid, tries + 1, err))
            else:
                back = min(args.backoff * (2 ** min(tries, 3)), 8.0)
                work.put((time.monotonic() + back, mid, first, tries + 1))
    close()


# ---- checking deliveries ----

def mid_of(data):
    m = re.search(rb"(?m)^X-Test-Id: (\d+)", data)
    return int(m.group(1)) if m else -1


def split_message(data):
    i = data.find(b"\n\n")
    if i < 0:
        return data, b""
    return data[:i + 1], data[i + 2:]


def header(head, name):
    m = re.search(rb"(?im)^" + re.escape(name.encode()) + rb":[ \t]*(.*(?:\n[ \t].*)*)", head)
    return m.group(1).replace(b"\n", b"").strip().decode(errors="replace") if m else None


class Checker:
    def __init__(self, args, specs, work_dir):
        self.args, self.specs, self.dir = args, specs, work_dir
        self.keys = keymap()
        self.lock = threading.Lock()
        self.files = {}        # id -> number of delivered files checked
        self.ok = 0
        self.fail = []         # (id, why)
        self.clear_against_policy = []
        self.by_expect = {}
        self.slow = []         # (file, seconds) of checks over 1 s
        self.rnp_failed = []   # ids rnp could not decrypt but gpg did, exactly
        self.gpg_homes = {}

    def note_fail(self, mid, why, clear=False):
        with self.lock:
            (self.clear_against_policy if clear else self.fail).append((mid, why))

    def check_file(self, path):
        data = open(path, "rb").read()
        head, body = split_message(data)
        tid = header(head, "X-Test-Id")
        rcpt = header(head, "Delivered-To")
        if tid is None or not tid.isdigit():
            self.note_fail(-1, "file without X-Test-Id: %s" % os.path.basename(path))
            return
        mid = int(tid)
        sp = self.specs(mid)
        trace = header(head, "X-DANE-Encrypted")
        ctype = (header(head, "Content-Type") or "").lower()
        expect = sp.expect
        with self.lock:
            self.files[mid] = self.files.get(mid, 0) + 1
            self.by_expect[expect] = self.by_expect.get(expect, 0) + 1
        if rcpt is None or rcpt.lower() not in [r.lower() for r in sp.rcpts]:
            self.note_fail(mid, "Delivered-To %r is not a recipient" % rcpt)
            return
        if expect == "bogus":
            self.note_fail(mid, "bogus recipient delivered", clear=trace is None)
            return
        if expect == "clear":
            msg, _, sent = sp.build()
            if trace is not None:
                self.note_fail(mid, "encrypted although policy says clear (%s)" % trace)
            elif body != sent.replace(CRLF, b"\n"):
                self.note_fail(mid, "clear body differs from what was sent")
            else:
                with self.lock:
                    self.ok += 1
            return
        # smime / openpgp: encrypted for this recipient, decrypts exactly
        if trace is None:
            self.note_fail(mid, "delivered in clear; policy says %s" % expect, clear=True)
            return
        if not trace.startswith(expect + "; recipients=%d" % len(sp.rcpts)):
            self.note_fail(mid, "trace header %r, want %s" % (trace, expect))
            return
        _, entity, _ = sp.build()
        addr = rcpt.lower()
        if addr.startswith("u") and addr.endswith("@secure.test") and addr[1:-12].isdigit():
            addr = "bob@secure.test"  # the uN names publish bob's certificate
        try:
            if expect == "smime":
                if not ctype.startswith("application/pkcs7-mime"):
                    raise ValueError("Content-Type %s" % ctype)
                plain = self.smime_decrypt(addr, body)
            else:
                if not ctype.startswith("multipart/encrypted"):
                    raise ValueError("Content-Type %s" % ctype)
                plain = self.pgp_decrypt(addr, data)
        except Exception as e:  # noqa: BLE001 - any failure is a failed check
            self.note_fail(mid, "%s decryption failed for %s: %s" % (expect, addr, e))
            return
        if plain != entity:
            self.note_fail(mid, "%s: decrypted entity differs (%d vs %d bytes)" %
                           (expect, len(plain), len(entity)))
            return
        with self.lock:
            self.ok += 1

    def smime_decrypt(self, addr, body):
        # openssl cms: the milter's CMS is BER (indefinite lengths), which
        # Python's cryptography (DER only) does not take
        _, cert, key, _ = self.keys[addr]
        der = base64.b64decode(body)
        r = subprocess.run(["openssl", "cms", "-decrypt", "-inform", "DER", "-binary",
                            "-inkey", key, "-recip", cert], input=der, capture_output=True)
        if r.returncode != 0:
            raise ValueError(r.stderr.decode(errors="replace")[:200])
        return r.stdout

    def pgp_decrypt(self, addr, data):
        """RFC 3156: multipart/encrypted, protocol application/pgp-encrypted,
        a Version: 1 part, then one armoured message; rnp with the
        recipient's secret key alone."""
        msg = email.message_from_bytes(data, policy=email.policy.compat32)
        if msg.get_param("protocol") != "application/pgp-encrypted":
            raise ValueError("protocol %r" % msg.get_param("protocol"))
        parts = msg.get_payload()
        if not isinstance(parts, list) or len(parts) != 2:
            raise ValueError("want 2 parts")
        if parts[0].get_content_type() != "application/pgp-encrypted" or \
                parts[0].get_payload().strip() != "Version: 1":
            raise ValueError("first part is not application/pgp-encrypted Version: 1")
        if parts[1].get_content_type() != "application/octet-stream":
            raise ValueError("second part is %s" % parts[1].get_content_type())
        armour = parts[1].get_payload().encode()
        if armour.count(b"-----BEGIN PGP MESSAGE-----") != 1:
            raise ValueError("not one armoured OpenPGP message")
        _, sec, _, _ = self.keys[addr]
        with tempfile.TemporaryDirectory(dir=self.dir) as h:
            r = subprocess.run(["rnp", "--homedir", h, "--keyfile", sec, "--decrypt",
                                "--output", "-"], input=armour, capture_output=True)
        if r.returncode == 0:
            return r.stdout
        # rnp 0.16.3 fails on some valid messages ("mdc was not validated")
        # that gpg decrypts exactly: ask gpg, and count them apart
        plain = self.gpg_decrypt(addr, sec, armour)
        with self.lock:
            self.rnp_failed.append(mid_of(data))
        return plain

    def gpg_decrypt(self, addr, sec, armour):
        with self.lock:
            h = self.gpg_homes.get(addr)
            if h is None:
                h = tempfile.mkdtemp(dir=self.dir, prefix="g")
                subprocess.run(["gpg", "--homedir", h, "--batch", "--quiet", "--import", sec],
                               capture_output=True, check=True)
                self.gpg_homes[addr] = h
        r = subprocess.run(["gpg", "--homedir", h, "--batch", "--quiet", "--yes", "--decrypt",
                            "--output", "-"], input=armour, capture_output=True)
        if r.returncode != 0:
            raise ValueError("rnp and gpg: " + r.stderr.decode(errors="replace")[:200])
        return r.stdout

    def close(self):
        for h in self.gpg_homes.values():
            subprocess.run(["gpgconf", "--homedir", h, "--kill", "all"], capture_output=True)


def checker_loop(args, chk, stop, done_files):
    new = os.path.join(args.maildir, "new")
    seen = set()
    while True:
        try:
            names = sorted(os.listdir(new))
        except FileNotFoundError:
            names = []
        names = [n for n in names if n not in seen]
        if not names:
            if stop.is_set():
                return
            time.sleep(0.2)
            continue
        for n in names:
            # two checkers share the directory: claim a file by renaming it
            src = os.path.join(new, n)
            dst = os.path.join(args.maildir, "checking." + n)
            try:
                os.rename(src, dst)
            except FileNotFoundError:
                seen.add(n)
                continue
            t = time.monotonic()
            try:
                chk.check_file(dst)
            except Exception as e:  # noqa: BLE001
                chk.note_fail(-1, "checker error on %s: %s" % (n, e))
            t = time.monotonic() - t
            if t > 1:
                with chk.lock:
                    chk.slow.append((n, round(t, 2)))
            if args.keep:
                os.rename(dst, os.path.join(args.maildir, "cur", n))
            else:
                os.unlink(dst)
            with done_files[1]:
                done_files[0] += 1


def rss_loop(args, samples, stop, t0, ledger):
    while not stop.wait(args.rss_every):
        try:
            pid = int(open(args.pidfile).read().split()[0])
            st = open("/proc/%d/status" % pid).read()
            kb = int(re.search(r"VmRSS:\s*(\d+)", st).group(1))
        except (OSError, ValueError, AttributeError):
            continue
        with ledger.lock:
            done = len(ledger.state)
        samples.append((round(time.monotonic() - t0, 1), done, kb))


def percentile(xs, p):
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cmd", choices=["run", "spec"])
    ap.add_argument("--smtp", default="127.0.0.1:2525")
    ap.add_argument("--maildir", default="")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--seed", default="soak")
    ap.add_argument("--conc", type=int, default=4, help="SMTP sessions at once")
    ap.add_argument("--checkers", type=int, default=3)
    ap.add_argument("--sendmail", default="", help="sendmail(1) command, e.g. 'sendmail -C DIR'")
    ap.add_argument("--sendmail-every", type=int, default=0)
    ap.add_argument("--big-every", type=int, default=100, help="every Nth message is 1-5 MB")
    ap.add_argument("--names", type=int, default=1000, help="uN@secure.test names published")
    ap.add_argument("--mix", choices=["soak", "fresh"], default="soak")
    ap.add_argument("--rate", type=float, default=0, help="messages per second at most (0: no limit)")
    ap.add_argument("--retry-for", type=float, default=300)
    ap.add_argument("--backoff", type=float, default=0.5)
    ap.add_argument("--settle", type=float, default=120,
                    help="seconds without a new delivery before the last ones count as missing")
    ap.add_argument("--pidfile", default="")
    ap.add_argument("--rss-every", type=float, default=5)
    ap.add_argument("--report", default="")
    ap.add_argument("--keep", action="store_true", help="keep checked files (in cur/)")
    ap.add_argument("--progress", type=float, default=30)
    args = ap.parse_args()

    cache = {}

    def specs(mid):
        s = cache.get(mid)
        if s is None:
            s = cache[mid] = Spec(args, mid)
        return s

    if args.cmd == "spec":
        for mid in range(args.first, args.first + args.count):
            s = specs(mid)
            print(mid, s.category, s.expect, ",".join(s.rcpts), s.size, s.format,
                  "sendmail" if s.via_sendmail else "smtp")
        return 0

    work_dir = tempfile.mkdtemp(prefix="soak.")
    ids = list(range(args.first, args.first + args.count))
    ledger = Ledger()
    chk = Checker(args, specs, work_dir)
    stop_send, stop_check, stop_rss = threading.Event(), threading.Event(), threading.Event()
    work = queue.PriorityQueue()  # (not before, id, first try, tries)
    done_files = [0, threading.Lock()]
    samples = []
    global T0, T0_EPOCH
    t0 = T0 = time.monotonic()
    T0_EPOCH = time.time()

    checkers = [threading.Thread(target=checker_loop, args=(args, chk, stop_check, done_files),
                                 daemon=True) for _ in range(args.checkers)]
    for t in checkers:
        t.start()
    rss = threading.Thread(target=rss_loop, args=(args, samples, stop_rss, t0, ledger),
                           daemon=True)
    if args.pidfile:
        rss.start()

    # feed at --rate (or all at once), senders take from the queue
    def feeder():
        for i, mid in enumerate(ids):
            if args.rate:
                delay = t0 + i / args.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            work.put((0.0, mid, 0.0, 0))  # first try: set by the sender

    feed = threading.Thread(target=feeder, daemon=True)
    feed.start()
    senders = [threading.Thread(target=sender, args=(args, specs, work, ledger, stop_send),
                                daemon=True) for _ in range(args.conc)]
    for t in senders:
        t.start()

    last = time.monotonic()
    last_final = [0, last]  # final count, and when it last changed
    while True:
        with ledger.lock:
            n_final = len(ledger.state)
        if n_final >= len(ids) and not feed.is_alive():
            break
        if n_final != last_final[0]:
            last_final[:] = [n_final, time.monotonic()]
        elif time.monotonic() - last_final[1] > args.retry_for + 120:
            # every message is final within retry_for of its first try: stuck
            print("giving up: %d messages never final, none for %.0f s" %
                  (len(ids) - n_final, time.monotonic() - last_final[1]),
                  file=sys.stderr, flush=True)
            break
        time.sleep(0.5)
        if time.monotonic() - last >= args.progress:
            last = time.monotonic()
            with ledger.lock:
                dfr = sum(ledger.deferrals.values())
            print("%6.0f s: %d/%d final, %d deliveries checked, %d deferrals, milter RSS %s kB"
                  % (last - t0, n_final, len(ids), done_files[0], dfr,
                     samples[-1][2] if samples else "?"), file=sys.stderr, flush=True)
    t_sent = time.monotonic() - t0
    stop_send.set()
    for t in senders:
        t.join(timeout=5)

    # wait for the deliveries the ledger expects
    expected_files = sum(len(specs(m).rcpts) for m in ids if ledger.state.get(m) == "accepted")
    # (the checkers may be far behind: wait while they make progress, and
    # --settle seconds more for files still to arrive)
    deadline, seen = time.monotonic() + args.settle, -1
    while time.monotonic() < deadline:
        with done_files[1]:
            checked = done_files[0]  # files whose check is complete
        if checked >= expected_files:
            break
        if checked != seen:
            deadline, seen = time.monotonic() + args.settle, checked
        time.sleep(0.3)
    time.sleep(1.0)  # anything extra (duplicates) arriving late
    t_all = time.monotonic() - t0
    stop_check.set()
    for t in checkers:
        t.join()
    stop_rss.set()
    chk.close()

    accepted = [m for m in ids if ledger.state.get(m) == "accepted"]
    missing = []
    dup = []
    for m in accepted:
        got, want = chk.files.get(m, 0), len(specs(m).rcpts)
        if got < want:
            missing.append(m)
        elif got > want:
            dup.append(m)
    bogus_ids = [m for m in ids if specs(m).expect == "bogus"]
    lat = list(ledger.latency.values())
    rep = {
        "sent": len(ids),
        "accepted": len(accepted),
        "bogus_refused": sum(1 for m in ids if ledger.state.get(m) == "bogus-refused"),
        "bogus_sent": len(bogus_ids),
        "lost": [m for m in ids if ledger.state.get(m) in ("lost", None)],
        "rejected": [m for m in ids if ledger.state.get(m) == "rejected"],
        "deferred_messages": len([m for m in ledger.deferrals if ledger.state.get(m) == "accepted"]),
        "deferrals": sum(ledger.deferrals.values()),
        "via_sendmail": sum(1 for m in ids if specs(m).via_sendmail),
        "expected_files": expected_files,
        "checked_files": sum(chk.files.values()),
        "delivered_messages": sum(1 for m in accepted if chk.files.get(m, 0) > 0),
        "missing": missing[:50],
        "n_missing": len(missing),
        "duplicates": dup[:50],
        "verified_ok": chk.ok,
        "by_expect": chk.by_expect,
        "rnp_failed_gpg_ok": chk.rnp_failed[:50],
        "failures": [(m, w) for m, w in chk.fail[:50]],
        "n_failures": len(chk.fail),
        "clear_against_policy": [(m, w) for m, w in chk.clear_against_policy[:50]],
        "n_clear_against_policy": len(chk.clear_against_policy),
        "bytes_sent": sum(specs(m).size for m in ids),
        "big_messages": sum(1 for m in ids if specs(m).size >= 1 << 20),
        "max_size": max(specs(m).size for m in ids),
        "formats": sorted({specs(m).format for m in ids}),
        "categories": {c: sum(1 for m in ids if specs(m).category == c)
                       for c in sorted({specs(m).category for m in ids})},
        "seconds_sending": round(t_sent, 1),
        "seconds_total": round(t_all, 1),
        "msg_per_s": round(len(accepted) / t_sent, 1) if t_sent else 0,
        "latency_p50": round(percentile(lat, 0.5), 3),
        "latency_p95": round(percentile(lat, 0.95), 3),
        "latency_max": round(max(lat) if lat else 0, 3),
        "slowest": [(m, round(ledger.latency[m], 2), specs(m).category, specs(m).size,
                     "sendmail" if specs(m).via_sendmail else "smtp")
                    for m in sorted(ledger.latency, key=ledger.latency.get)[-5:]],
        "slowest_checks": sorted(chk.slow, key=lambda x: x[1])[-5:],
        "rss_samples": samples,
        "t0": T0_EPOCH,
        "accepted_at": ledger.accepted_at,
        "notes": ledger.notes[:20],
    }
    if args.report:
        with open(args.report, "w") as f:
            json.dump(rep, f, indent=1)
    else:
        json.dump(rep, sys.stdout, indent=1)
    subprocess.run(["rm", "-rf", work_dir])
    return 0


if __name__ == "__main__":
    sys.exit(main())

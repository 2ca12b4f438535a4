#!/usr/bin/env python3
"""confirm.py: run 'coffer init' on a terminal of its own and type back the
recovery key it shows, as a user would.

  confirm.py TRANSCRIPT MODE CMD...

CMD runs in a new session whose controlling terminal is a new
pseudo-terminal.  Everything it writes there is appended to TRANSCRIPT.
When the terminal asks to "type it again to confirm", the key it showed
(7 groups of 5 characters) is typed back (through term.py's driver): as shown (MODE "exact"), in lower
case with spaces for dashes (MODE "loose"), with one character of group 3
changed (MODE "typo"), or as another valid key (MODE "other", the key of
16 zero bytes).  Exits with CMD's
exit status, or 124 after 120 s (CMD is then killed).
"""
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import term  # noqa: E402  (tests/server/term.py: the terminal driver)

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
KEY = re.compile(rb"\b([0-9A-Z]{5}(?:-[0-9A-Z]{5}){6})\b")


def answer(key, mode):
    if mode == "exact":
        return key
    if mode == "loose":
        return key.lower().replace("-", " ")
    groups = key.split("-")
    if mode == "typo":
        g = groups[2]
        c = ALPHABET[(ALPHABET.index(g[1]) + 1) % 32]
        groups[2] = g[0] + c + g[2:]
        return "-".join(groups)
    return encode(bytes(16))  # "other": a valid key, another one


def gf_mul(a, b):
    p = 0
    for _ in range(5):
        if b & 1:
            p ^= a
        b >>= 1
        a <<= 1
        if a & 32:
            a ^= 0x25
    return p


def gf_pow(e):
    p = 1
    for _ in range(e):
        p = gf_mul(p, 2)
    return p


def encode(secret):
    """The written form of a 16-byte secret (docs/SECURITY.md)."""
    bits = "".join(format(b, "08b") for b in secret) + "0" * 12
    groups = []
    for g in range(7):
        v = [int(bits[(g * 4 + i) * 5:(g * 4 + i) * 5 + 5], 2) for i in range(4)]
        s = 0
        for j in range(4):
            s ^= gf_mul(gf_pow(j + 1), v[j])
        w4 = [w for w in range(32) if gf_mul(gf_pow(5), w) == gf_pow(g) ^ s][0]
        groups.append("".join(ALPHABET[x] for x in v) + ALPHABET[w4])
    return "-".join(groups)


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    transcript, mode, cmd = argv[1], argv[2], argv[3:]
    typed = [False]

    def respond(seen):
        if typed[0] or b"type it again to confirm: " not in seen:
            return None
        typed[0] = True
        m = KEY.search(seen)
        # no key shown: an empty line, which init refuses
        key = answer(m.group(1).decode(), mode) if m else ""
        return key.encode() + b"\n"

    return term.drive(transcript, cmd, respond)


if __name__ == "__main__":
    sys.exit(main(sys.argv))

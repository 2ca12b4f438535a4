#!/usr/bin/env python3
"""watch.py: which files does a command open?  (inotify through ctypes)

usage: watch.py DIR OUT -- COMMAND [ARG...]

Watches every folder under DIR for IN_OPEN, runs COMMAND (stdout and stderr
passed through), then writes the paths (relative to DIR, NUL-terminated)
of the files (not folders) that were opened, sorted, to OUT.  Exits with
COMMAND's status; 125 if watching failed (e.g. the event queue overflowed).
"""
import ctypes
import os
import stat
import struct
import subprocess
import sys

IN_OPEN = 0x20
IN_Q_OVERFLOW = 0x4000
IN_ISDIR = 0x40000000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000


def main(argv):
    if len(argv) < 5 or argv[3] != "--":
        print(__doc__, file=sys.stderr)
        return 125
    root, out, cmd = os.fsencode(argv[1]), argv[2], argv[4:]
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
    if fd < 0:
        print("watch.py: inotify_init1 failed", file=sys.stderr)
        return 125
    wds = {}
    for d, dirs, _ in os.walk(root):
        wd = libc.inotify_add_watch(fd, d, IN_OPEN)
        if wd < 0:
            print("watch.py: cannot watch %r: errno %d" % (
                d, ctypes.get_errno()), file=sys.stderr)
            return 125
        wds[wd] = d
    rc = subprocess.call(cmd)
    opened = set()
    overflow = False
    while True:
        try:
            buf = os.read(fd, 1 << 20)
        except BlockingIOError:
            break
        i = 0
        while i < len(buf):
            wd, mask, _, n = struct.unpack_from("iIII", buf, i)
            name = buf[i + 16:i + 16 + n].rstrip(b"\0")
            i += 16 + n
            if mask & IN_Q_OVERFLOW:
                overflow = True
            elif mask & IN_OPEN and not mask & IN_ISDIR and name:
                p = os.path.join(wds[wd], name)
                try:
                    if stat.S_ISREG(os.lstat(p).st_mode):
                        opened.add(os.path.relpath(p, root))
                except OSError:
                    opened.add(os.path.relpath(p, root))
    with open(out, "wb") as f:
        for p in sorted(opened):
            f.write(p + b"\0")
    if overflow:
        print("watch.py: inotify queue overflowed", file=sys.stderr)
        return 125
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))

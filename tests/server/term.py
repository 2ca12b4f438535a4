#!/usr/bin/env python3
"""term.py: run a command on a terminal of its own, and answer its question.

  term.py TRANSCRIPT ANSWER CMD...

CMD runs in a new session whose controlling terminal (/dev/tty, and its
stdin, stdout and stderr) is a new pseudo-terminal, as at a user's
keyboard.  Everything it writes there is appended to TRANSCRIPT as it
comes (carriage returns dropped).  Once the terminal shows "[y/N] ",
ANSWER and Enter are typed, once.  Exits with CMD's exit status (128 + N
if a signal N ended it), or 124 after 120 s (CMD is then killed).
"""
import os
import pty
import select
import signal
import sys
import time


def drive(transcript, cmd, respond):
    """Run CMD on a new pseudo-terminal, appending what it shows to
    TRANSCRIPT; respond(seen) is called with all shown so far and returns
    the bytes to type then, or None.  CMD's exit status (128 + N for a
    signal N), or 124 after 120 s (CMD is then killed)."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    seen = b""
    end = time.monotonic() + 120
    with open(transcript, "ab", buffering=0) as out:
        while time.monotonic() < end:
            r, _, _ = select.select([fd], [], [], 0.2)
            if not r:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the other side is closed
                chunk = b""
            if not chunk:
                break
            out.write(chunk.replace(b"\r", b""))
            seen += chunk
            typed = respond(seen)
            if typed is not None:
                os.write(fd, typed)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return 124
    _, status = os.waitpid(pid, 0)
    return (os.WEXITSTATUS(status) if os.WIFEXITED(status)
            else 128 + os.WTERMSIG(status))


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    transcript, answer, cmd = argv[1], argv[2].encode() + b"\n", argv[3:]
    asked = [False]

    def respond(seen):
        if asked[0] or b"[y/N] " not in seen:
            return None
        asked[0] = True
        return answer

    sys.exit(drive(transcript, cmd, respond))


if __name__ == "__main__":
    main(sys.argv)

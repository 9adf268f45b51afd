"""An SMTP server for the notification tests (SPEC S15), on aiosmtpd.

Listens on 127.0.0.1 (port 0: one the OS picks), prints `ready <port>` when it accepts
connections, and writes every message it accepts to `<out>/<n>.eml`, with the envelope in
`<n>.json` (`mail_from`, `rcpt_tos`). While the file named by `--refuse` exists it answers
every message with `421` (service not available: a temporary failure), counting each
refusal in `<out>/refused.count`. While the file named by `--stall` exists it does not
answer a message's data at all (a server that hangs), and answers `421` once it is gone,
keeping nothing. Stops on SIGTERM or when stdin closes.
"""

import argparse
import asyncio
import json
import os
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Recorder:
    def __init__(self, out, refuse, stall):
        self.out = out
        self.refuse = refuse
        self.stall = stall
        self.n = 0
        self.refused = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.stall and os.path.exists(self.stall):
            with self.lock:
                self.stalled = getattr(self, "stalled", 0) + 1
                with open(os.path.join(self.out, "stalled.count"), "w") as f:
                    f.write(str(self.stalled))
            while os.path.exists(self.stall):
                await asyncio.sleep(0.1)
            return "421 4.3.2 Stalled, nothing kept"
        with self.lock:
            if self.refuse and os.path.exists(self.refuse):
                self.refused += 1
                with open(os.path.join(self.out, "refused.count"), "w") as f:
                    f.write(str(self.refused))
                return "421 4.3.2 Service not available, closing transmission channel"
            self.n += 1
            n = self.n
        base = os.path.join(self.out, f"{n:04d}")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(base + ".json", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}, f)
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 2.0.0 OK"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--refuse", default=None)
    parser.add_argument("--stall", default=None)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    import socket

    handler = Recorder(args.out, args.refuse, args.stall)
    # Port 0: one the OS picks, found by binding a socket first; another process may take it
    # before the server binds it, so a few tries.
    for attempt in range(10):
        port = args.port
        if port == 0:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            s.close()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        try:
            controller.start()
            break
        except Exception:
            if args.port != 0 or attempt == 9:
                raise
    print(f"ready {port}", flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())

    def watch_stdin():
        sys.stdin.read()
        done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    done.wait()
    controller.stop()


if __name__ == "__main__":
    main()

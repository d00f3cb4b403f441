#!/usr/bin/env python3
"""The backend of bench/overload: an app with a fixed capacity, as a pre-fork server such as
gunicorn's sync workers runs it. N workers (threads here) each accept one connection, read one
request, take SERVICE ms over it (a sleep: the app waits on something, as most do), answer 200
with `Connection: close` and close; whatever is not being worked on waits in the kernel's
listen backlog, so capacity is N / SERVICE (4 / 40 ms = 100 req/s) and every request over it
queues in the kernel, the failure the overload test is about.

Each request is logged, one line, to --log: `arrival done accepted` in CLOCK_MONOTONIC
nanoseconds, where arrival is when the request's first bytes reached this host's kernel (the
SO_TIMESTAMPNS receive timestamp), so done - arrival is the latency the app gave the request,
its wait in the listen backlog included.

Usage: overload_backend.py --port P [--workers 4] [--service-ms 40] [--backlog 1024] --log FILE
Loopback only. Stops on SIGTERM or SIGINT, flushing its log.
"""
import argparse
import signal
import socket
import struct
import sys
import threading
import time

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
BODY = b"ok " + b"0123456789abcdef" * 4 + b"\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--service-ms", type=float, default=40.0)
    ap.add_argument("--backlog", type=int, default=1024)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    if not args.host.startswith("127."):
        sys.exit("overload_backend: loopback addresses only")

    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # inherited by accepted sockets: each first read says when its bytes arrived
    lsock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    lsock.bind((args.host, args.port))
    lsock.listen(args.backlog)

    service = args.service_ms / 1000.0
    records = []
    lock = threading.Lock()
    response = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                b"Connection: close\r\n\r\n" % len(BODY)) + BODY

    def worker():
        while True:
            try:
                conn, _ = lsock.accept()
            except OSError:
                return
            accepted = time.monotonic_ns()
            arrival_real = None
            data = b""
            try:
                conn.settimeout(30)
                while b"\r\n\r\n" not in data:
                    chunk, anc, _, _ = conn.recvmsg(65536, 64)
                    if not chunk:
                        break
                    for level, kind, cdata in anc:
                        if arrival_real is None and level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                            sec, nsec = struct.unpack("qq", cdata[:16])
                            arrival_real = sec * 1_000_000_000 + nsec
                    data += chunk
                if b"\r\n\r\n" not in data:
                    continue
                time.sleep(service)
                # taken before the response goes: the proxy may send the next request as soon as
                # it has this one's answer, and that one's arrival must not come before this done
                done_real, done = time.time_ns(), time.monotonic_ns()
                conn.sendall(response)
                arrival = done - (done_real - arrival_real) if arrival_real else accepted
                with lock:
                    records.append(f"{arrival} {done} {accepted}\n")
            except OSError:
                pass
            finally:
                conn.close()

    out = open(args.log, "a")

    def flush():
        with lock:
            lines = records[:]
            records.clear()
        out.writelines(lines)
        out.flush()

    def writer():
        while True:
            time.sleep(0.5)
            flush()

    def stop(_signum, _frame):
        flush()
        out.close()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in range(args.workers):
        threading.Thread(target=worker, daemon=True).start()
    threading.Thread(target=writer, daemon=True).start()
    while True:
        signal.pause()


if __name__ == "__main__":
    main()

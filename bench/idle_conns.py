#!/usr/bin/env python3
"""Open N keep-alive HTTP/1.1 connections to a loopback proxy and hold them idle.

Each connection sends one GET and reads the whole response, so the proxy has really served it
(and owns whatever per-connection state a served keep-alive connection keeps), then stays open
and silent. bench/run measures the proxy's resident memory before and after.

Protocol on stdout/stdin, for bench/run:
  prints  "READY ok=N failed=M"   once every connection has its response (or failed)
  reads   "CHECK"                 -> prints "ALIVE n" (connections the proxy has not closed)
  reads   end of input            -> closes everything and exits
It also exits by itself after --hold seconds, so it can never outlive the benchmark.
"""
import argparse
import errno
import ipaddress
import os
import resource
import select
import selectors
import socket
import sys
import time


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return
    target = need if hard == resource.RLIM_INFINITY else min(need, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < need:
        sys.exit(f"idle_conns: need {need} file descriptors, hard limit is {hard} (raise ulimit -n)")


def response_complete(buf):
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return False
    head = buf[:head_end].lower()
    body = buf[head_end + 4:]
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip() == b"content-length":
            return len(body) >= int(value.strip())
        if name.strip() == b"transfer-encoding" and b"chunked" in value:
            return body.endswith(b"0\r\n\r\n")
    return True


def status_of(buf):
    try:
        return int(buf[9:12])
    except ValueError:
        return 0


def open_all(host, port, count, batch, deadline):
    """Connect, request and read, at most `batch` connections in flight at a time."""
    request = f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    sel = selectors.DefaultSelector()
    done, failed, started = [], 0, 0
    pending = {}  # sock -> bytearray of response so far

    def start_one():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex((host, port))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            return False
        pending[s] = None  # None: request not yet written
        sel.register(s, selectors.EVENT_WRITE)
        return True

    while len(done) + failed < count:
        if time.monotonic() > deadline:
            break
        while started < count and len(pending) < batch:
            started += 1
            if not start_one():
                failed += 1
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            if pending[s] is None:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    sel.unregister(s)
                    del pending[s]
                    s.close()
                    failed += 1
                    continue
                s.send(request)
                pending[s] = bytearray()
                sel.modify(s, selectors.EVENT_READ)
                continue
            try:
                chunk = s.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                sel.unregister(s)
                del pending[s]
                s.close()
                failed += 1
                continue
            pending[s] += chunk
            if response_complete(pending[s]):
                sel.unregister(s)
                ok = 200 <= status_of(pending[s]) < 300
                del pending[s]
                if ok:
                    done.append(s)
                else:
                    s.close()
                    failed += 1
    for s in pending:
        s.close()
    failed += len(pending) + (count - started)
    sel.close()
    return done, failed


def alive(socks):
    """A connection the peer closed reads as EOF; an open idle one would block."""
    n = 0
    for s in socks:
        try:
            data = s.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK)
            n += 1 if data else 0
        except BlockingIOError:
            n += 1
        except OSError:
            pass
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("-n", "--connections", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=200, help="connections being opened at once")
    ap.add_argument("--open-timeout", type=float, default=60.0)
    ap.add_argument("--hold", type=float, default=120.0, help="exit by itself after this many seconds")
    args = ap.parse_args()
    if not ipaddress.ip_address(args.host).is_loopback:
        sys.exit("idle_conns: loopback targets only")
    raise_fd_limit(args.connections + 64)

    started = time.monotonic()
    socks, failed = open_all(args.host, args.port, args.connections, args.batch,
                             started + args.open_timeout)
    print(f"READY ok={len(socks)} failed={failed} seconds={time.monotonic() - started:.2f}", flush=True)

    end = started + args.hold
    while time.monotonic() < end:
        ready, _, _ = select.select([sys.stdin], [], [], max(0.0, end - time.monotonic()))
        if not ready:
            break
        line = sys.stdin.readline()
        if not line:
            break
        if line.strip() == "CHECK":
            print(f"ALIVE {alive(socks)}", flush=True)
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()

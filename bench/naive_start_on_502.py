#!/usr/bin/env python3
"""bench/naive_start_on_502.py: the gateway of the outage, for contrast with Sluice's apps.

A tiny threaded HTTP proxy in front of one app that believes "a 502 means the app is not running":
whenever forwarding fails (connect refused or timed out, or the app answers 502/503) it starts the
app again (as the hosting platform's gateway called its start API) and answers 502. Under a flood
that fills the app's listen backlog, every refused or timed-out connect is a new start: the storm.

  bench/naive_start_on_502.py --listen 18090 --app-port 18091 -- gunicorn ... --bind 127.0.0.1:{port} tinyapp:app

GET /__starts on the gateway answers how many starts it made. SIGTERM stops it and the process
groups of every start.
"""
import argparse
import http.client
import http.server
import os
import signal
import socketserver
import subprocess
import sys
import threading

STARTS = 0
LOCK = threading.Lock()
GROUPS = []


STOPPING = False


def start_app(argv, port):
    global STARTS
    with LOCK:
        if STOPPING:
            return
        STARTS += 1
        # Each start in a session of its own, as Sluice does, so SIGTERM at the end reaches them all.
        p = subprocess.Popen(["setsid"] + [a.replace("{port}", str(port)) for a in argv],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        GROUPS.append(p.pid)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/__starts":
            self.answer(200, ("%d\n" % STARTS).encode())
            return
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.server.app_port, timeout=self.server.timeout_s)
            conn.request("GET", self.path)
            r = conn.getresponse()
            body = r.read()
            conn.close()
        except OSError:
            # "The app is not running": the mistake this script exists to show.
            start_app(self.server.argv, self.server.app_port)
            self.answer(502, b"bad gateway; starting the app\n")
            return
        if r.status in (502, 503):
            start_app(self.server.argv, self.server.app_port)
        self.answer(r.status, body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--app-port", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=1.0, help="connect and response timeout, seconds")
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()
    server = Server(("127.0.0.1", args.listen), Handler)
    server.app_port = args.app_port
    server.argv = args.command
    server.timeout_s = args.timeout

    def stop(*_):
        global STOPPING
        with LOCK:
            # No start after this one: a request still in flight must not leave an app behind.
            STOPPING = True
            groups = list(GROUPS)
        for pid in groups:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        print("naive gateway: %d starts" % STARTS, flush=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())

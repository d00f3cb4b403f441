"""A tiny WSGI app for the app-supervision tests (gunicorn and uwsgi run it).

GET /healthz           200 "ok" (the readiness check)
GET /sleep?ms=N        waits N ms, then 200 (an app that takes its time: fills its workers)
GET /pid               200 with the worker's pid
GET /status/NNN        answers with status NNN (502, 503: an app that is up and answering badly)
anything else          200 "hello from tinyapp <pid>"

TINYAPP_STARTS, when set, names a file where each start of the app appends a line
"<monotonic seconds> <pid>": the tests count starts and their spacing from it.
TINYAPP_SEEN, when set, names a file where each request but the readiness check appends its
query string, in the order the app serves them.
TINYAPP_EXIT, when set, makes the app exit at once with that code (a crash loop).
TINYAPP_SLOW_START, when set, makes the app wait that many seconds before it serves.
"""
import os
import sys
import time

_starts = os.environ.get("TINYAPP_STARTS")
if _starts:
    with open(_starts, "a") as f:
        f.write("%.3f %d\n" % (time.monotonic(), os.getpid()))

print("tinyapp: starting in pid %d" % os.getpid(), flush=True)

if os.environ.get("TINYAPP_EXIT"):
    print("tinyapp: exiting at once, as TINYAPP_EXIT says", flush=True)
    sys.stdout.flush()
    os._exit(int(os.environ["TINYAPP_EXIT"]))

if os.environ.get("TINYAPP_SLOW_START"):
    time.sleep(float(os.environ["TINYAPP_SLOW_START"]))


_seen = os.environ.get("TINYAPP_SEEN")


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    query = environ.get("QUERY_STRING", "")
    if _seen and path != "/healthz":
        with open(_seen, "a") as f:
            f.write(query + "\n")
    if path == "/sleep":
        ms = 0
        for part in query.split("&"):
            if part.startswith("ms="):
                ms = int(part[3:])
        time.sleep(ms / 1000.0)
        body = b"slept\n"
    elif path.startswith("/status/"):
        # An app that answers badly while it runs: Sluice passes it on and never restarts it for it.
        code = path[len("/status/"):]
        body = b"answered " + code.encode() + b"\n"
        start_response(code + " As Asked", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    elif path == "/pid":
        body = ("%d\n" % os.getpid()).encode()
    elif path == "/healthz":
        body = b"ok\n"
    else:
        body = ("hello from tinyapp %d\n" % os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


application = app

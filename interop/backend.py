"""Python backend for interop checks (http.server, HTTP/1.1 keep-alive, chunked uploads)."""
import hashlib, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def body(n):
    return bytes((i * 31 + 7) & 0xff for i in range(n))

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def read_body(self):
        h = hashlib.sha256(); n = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""): pass
                    break
                d = self.rfile.read(size); h.update(d); n += len(d); self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length", 0))
            while left:
                d = self.rfile.read(min(left, 65536)); h.update(d); n += len(d); left -= len(d)
        return h.hexdigest(), n
    def handle_any(self):
        digest, n = self.read_body()
        if self.path.startswith("/download/"):
            b = body(int(self.path.split("/")[2]))
            self.send_response(200); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b); return
        out = f"python {self.command} {self.path}\n".encode()
        self.send_response(200); self.send_header("x-body-sha256", digest); self.send_header("x-body-length", str(n))
        self.send_header("Content-Length", str(len(out))); self.end_headers(); self.wfile.write(out)
    do_GET = do_POST = do_PUT = handle_any

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()

// Node.js backend for interop checks: echoes a body's sha256, serves deterministic downloads.
const http = require('http');
const crypto = require('crypto');
const port = +process.argv[2];
function body(n) { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff; return b; }
http.createServer((req, res) => {
  const h = crypto.createHash('sha256'); let n = 0;
  req.on('data', d => { h.update(d); n += d.length; });
  req.on('end', () => {
    const m = req.url.match(/\/download\/(\d+)(\/chunked)?/);
    if (m) {
      const b = body(+m[1]);
      if (m[2]) { res.writeHead(200, {'content-type': 'application/octet-stream'}); for (let i = 0; i < b.length; i += 65536) res.write(b.subarray(i, i + 65536)); res.end(); }
      else { res.writeHead(200, {'content-length': b.length}); res.end(b); }
      return;
    }
    res.setHeader('x-body-sha256', h.digest('hex')); res.setHeader('x-body-length', n);
    res.end('node ' + req.method + ' ' + req.url + '\n');
  });
}).listen(port, '127.0.0.1');

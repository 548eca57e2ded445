"""khlab-netserve: the kubeharden lab's stand-in network listeners.

Runs INSIDE a lab node (init.sh starts it as /usr/bin/python3 -I -B
/run/khlab/khlab-netserve.py CONFIG READY), one process per node, with its
comm set to "khlab-netserve" so that nothing takes it for a Kubernetes
component. It serves what the node's real kubelet, kube-proxy,
controller-manager and scheduler would have on the network: TLS or plain
HTTP listeners on their ports, with the certificates under /etc/khlab/tls
and the HTTP answers that the node's configuration implies (401 or 200 on the
kubelet's /pods, ...). CONFIG is the node's netserve.json, written by
materialize.py:

    {"listeners": [{"name": ..., "bind": "*"|"127.0.0.1"|IP, "port": N,
                    "tls": null | {"cert": F, "key": F, "min_version": "TLSv1"|"TLSv1.2",
                                   "client_ca": F|null, "client_cert": "none"|"optional"|"required"},
                    "routes": {PATH: {"anonymous": [STATUS, TYPE, BODY],
                                      "authenticated": [STATUS, TYPE, BODY]}}}]}

"authenticated" applies when the client presented a certificate that
verifies against client_ca. Unknown paths get 404. Once every socket is
bound, it writes "ready" to READY (a FIFO init.sh waits on). It never writes
to the node's files.

The stand-ins read their input the way the Go servers they stand in for do
(the kubelet, kube-proxy and kube-controller-manager serve with Go's
net/http and crypto/tls):

* Plain HTTP listeners answer only a whole request head. net/http's
  `conn.readRequest` reads the request line with textproto's `ReadLine`,
  up to a newline, and a TLS ClientHello is binary and usually holds none,
  so a Go plaintext server says nothing to a ClientHello and waits (until
  the client gives up). The stand-ins wait for the empty line that ends a
  head, so they are silent on a ClientHello every time, not only when its
  random bytes hold no newline. A request line that is not HTTP gets Go's
  `400 Bad Request` ("HTTP/1.1 400 Bad Request", text/plain, "Connection:
  close"). An HTTP/1.0 request is answered in HTTP/1.0, as Go's
  `writeStatusLine` does. A listener with `"garbage": "400"` answers
  anything that is not HTTP with that 400 at once, as Go does whenever the
  bytes it was sent happen to hold a newline.
* TLS listeners answer a plain HTTP request, instead of a ClientHello, as
  Go's net/http does on a `tls.RecordHeaderError` whose five header bytes
  look like HTTP (`tlsRecordHeaderLooksLikeHTTP`: "GET /", "HEAD ",
  "POST ", "PUT /", "OPTIO"): "HTTP/1.0 400 Bad Request" and "Client sent
  an HTTP request to an HTTPS server.", then close.
"""

import ctypes
import http.server
import io
import json
import socket
import socketserver
import ssl
import sys
import threading
import warnings

CONN_TIMEOUT = 10

# crypto/tls + net/http: what a Go TLS server writes to a plain HTTP client
GO_TLS_PLAIN_ANSWER = b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
GO_HTTP_LOOKING = (b"GET /", b"HEAD ", b"POST ", b"PUT /", b"OPTIO")
# net/http's answer to a request line it cannot parse
GO_BAD_REQUEST = (b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                  b"Connection: close\r\n\r\n400 Bad Request")
MAX_HEAD = 1 << 20   # net/http's DefaultMaxHeaderBytes


def set_comm(name):
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except Exception:
        pass


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "khlab-netserve"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("khlab-netserve %s:%d %s %s\n" % (
            self.server.spec["name"], self.server.spec["port"], self.address_string(), fmt % args))

    def answer(self, status, ctype, body):
        data = body.encode()
        # Go answers an HTTP/1.0 request in HTTP/1.0 (writeStatusLine)
        if self.request_version == "HTTP/1.0":
            self.protocol_version = "HTTP/1.0"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.close_connection = True

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        route = self.server.spec.get("routes", {}).get(path)
        if route is None:
            self.answer(404, "text/plain; charset=utf-8", "404 page not found\n")
            return
        authed = False
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                authed = bool(self.connection.getpeercert())
            except (ValueError, ssl.SSLError):
                authed = False
        status, ctype, body = route["authenticated" if authed else "anonymous"]
        self.answer(status, ctype, body)

    do_HEAD = do_GET


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, spec):
        self.spec = spec
        bind = spec["bind"]
        if bind == "*":
            self.address_family = socket.AF_INET6
            addr = ("::", spec["port"])
        else:
            self.address_family = socket.AF_INET6 if ":" in bind else socket.AF_INET
            addr = (bind, spec["port"])
        self.ctx = None
        if spec.get("tls"):
            self.ctx = make_context(spec["tls"])
        super().__init__(addr, Handler, bind_and_activate=False)
        if bind == "*":
            # dual stack, like a Go server on ":PORT" (ss shows *:PORT)
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        self.server_bind()
        self.server_activate()

    def finish_request(self, request, client_address):
        # The TLS handshake runs in the connection's own thread, so a client
        # that connects and says nothing (a port scan) blocks no one.
        request.settimeout(CONN_TIMEOUT)
        # Go servers (the components stood in for) turn Nagle off.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = request
        try:
            if self.ctx is None:
                head = self.read_head(request)
                if head is None:
                    return
                conn = Replay(request, head)
            else:
                first = request.recv(5, socket.MSG_PEEK)
                if first.startswith(GO_HTTP_LOOKING):
                    request.sendall(GO_TLS_PLAIN_ANSWER)
                    return
                conn = self.ctx.wrap_socket(request, server_side=True)
            super().finish_request(conn, client_address)
        except (OSError, ssl.SSLError):
            pass
        finally:
            if conn is not request and not isinstance(conn, Replay):
                conn.close()

    def read_head(self, sock):
        """A plain HTTP request head, up to its empty line, as Go's
        net/http waits for it; None when the client gave up first (or the
        line was answered with 400)."""
        head = b""
        while b"\r\n\r\n" not in head and b"\n\n" not in head:
            if (self.spec.get("garbage") == "400" and head
                    and not (head[:1].isalpha() and head[:1].isupper())):
                sock.sendall(GO_BAD_REQUEST)
                return None
            if len(head) > MAX_HEAD:
                return None
            chunk = sock.recv(65536)
            if not chunk:
                return None
            head += chunk
        line = head.split(b"\n", 1)[0].rstrip(b"\r").split(b" ")
        if len(line) != 3 or not line[2].startswith(b"HTTP/1.") or not line[0].isalpha():
            sock.sendall(GO_BAD_REQUEST)
            return None
        return head

    def handle_error(self, request, client_address):
        pass


class Replay:
    """A plain connection whose request head was already read: the
    handler's rfile gets the head back, then the rest of the socket."""

    def __init__(self, sock, head):
        self.sock, self.head = sock, head

    def makefile(self, mode, *args, **kwargs):
        if "r" in mode:
            return io.BufferedReader(_HeadThenSocket(self.sock, self.head))
        return self.sock.makefile(mode, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.sock, name)


class _HeadThenSocket(io.RawIOBase):
    def __init__(self, sock, head):
        self.sock, self.head = sock, head

    def readable(self):
        return True

    def readinto(self, b):
        if self.head:
            n = min(len(b), len(self.head))
            b[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        return self.sock.recv_into(b)


def make_context(t):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if t["min_version"] == "TLSv1":
        # OpenSSL 3 refuses TLS 1.0/1.1 above security level 0
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
    else:
        ctx.minimum_version = getattr(ssl.TLSVersion, t["min_version"].replace(".", "_"))
        if t.get("ciphers"):
            ctx.set_ciphers(t["ciphers"])
    ctx.load_cert_chain(t["cert"], t["key"])
    mode = t.get("client_cert", "none")
    if mode != "none":
        ctx.load_verify_locations(t["client_ca"])
        ctx.verify_mode = ssl.CERT_REQUIRED if mode == "required" else ssl.CERT_OPTIONAL
    return ctx


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: khlab-netserve.py CONFIG READY")
    set_comm("khlab-netserve")
    with open(sys.argv[1]) as f:
        config = json.load(f)
    servers = [Server(spec) for spec in config["listeners"]]
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 3600}, daemon=True)
               for s in servers]
    for t in threads:
        t.start()
    with open(sys.argv[2], "w") as f:
        f.write("ready\n")
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()

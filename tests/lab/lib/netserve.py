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
"""

import ctypes
import http.server
import json
import socket
import socketserver
import ssl
import sys
import threading
import warnings

CONN_TIMEOUT = 10


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
            if self.ctx is not None:
                conn = self.ctx.wrap_socket(request, server_side=True)
            super().finish_request(conn, client_address)
        except (OSError, ssl.SSLError):
            pass
        finally:
            if conn is not request:
                conn.close()

    def handle_error(self, request, client_address):
        pass


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

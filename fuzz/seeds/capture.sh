#!/bin/sh
# Seeds the fuzz corpus with what real servers and real nodes send:
#  - collect: the collector's three round trips as the lab's nodes answer
#    them (kubeadm default, misconfigured worker, etcd from --config-file,
#    kubespray, RKE2, a k3s server whose flags are only in its log, a k3s agent),
#    captured through `--exec` with tee; the frame nonces become `fz`;
#  - pem: an openssl-made PKI, including the two-certificate file that
#    client-go's GenerateSelfSignedCertKey writes for a kubelet;
#  - tls_stream, hello_answer: the server's side of handshakes with
#    `openssl s_server` (TLS 1.3 with a client certificate request, TLS 1.2,
#    TLS 1.0, and an alert), recorded by a relay;
#  - http_status: the answers the plain `GET /` meets (Go's "HTTP request to
#    an HTTPS server" 400, a plaintext 200, a bare 404).
# Run as root from the repository root, with the release binary built:
#   sh fuzz/seeds/capture.sh
# It starts a lab (tests/lab/lab.sh) and openssl servers on loopback, and
# stops exactly those.
set -eu
ROOT=$(pwd)
BIN=$ROOT/target/release/kubeharden
C=$ROOT/fuzz/corpus
W=$(mktemp -d /tmp/khfuzz-seeds.XXXXXX)
LAB=$W/lab
SERVER=
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
    [ -f "$LAB/state" ] && "$ROOT/tests/lab/lab.sh" down "$LAB" >/dev/null 2>&1 || true
    rm -rf "$W"
}
trap cleanup EXIT INT TERM

# --- collect --------------------------------------------------------------
NODES=kubeadm-default-cp1,misconfigured-w1,etcd-config-file-cp1,kubespray-default-cp1,rke2-default-cp1,k3s-hardened-cp1,k3s-default-w1
INV=$("$ROOT/tests/lab/lab.sh" up "$LAB" --nodes "$NODES")
for node in $(echo "$NODES" | tr , ' '); do
    out=$W/$node.out
    "$BIN" scan --node "$node=10.0.0.1" --no-probes --fail-on none \
        --exec "$ROOT/tests/lab/lab.sh exec $LAB {node} sh | tee -a $out" >/dev/null 2>&1 || true
    python3 - "$out" "$C/collect/lab-$node" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
trips, cur = [], []
for line in text.split("\n"):
    m = re.match(r"^@@([0-9a-f]+) (START|DONE)$", line)
    if m and m.group(2) == "DONE":
        trips.append("\n".join(cur)); cur = []
    elif not m:
        cur.append(line)
body = "\n=====TRIP=====\n".join(trips)
body = re.sub(r"@@[0-9a-f]{32} ", "@@fz ", body)
open(sys.argv[2], "w").write(body)
PY
done
"$ROOT/tests/lab/lab.sh" down "$LAB" >/dev/null 2>&1

# --- pem --------------------------------------------------------------------
cd "$W"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -subj /CN=kubernetes 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout leaf.key -out leaf.csr -subj /CN=kube-apiserver 2>/dev/null
printf 'subjectAltName=DNS:kubernetes,DNS:localhost,IP:10.96.0.1,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > ext
openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out leaf.crt -days 365 -extfile ext 2>/dev/null
# client-go GenerateSelfSignedCertKey: a CA "<host>-ca@<time>" and a leaf
# "<host>@<time>" it signed, leaf first, in one file.
openssl req -x509 -newkey rsa:2048 -nodes -keyout sca.key -out sca.crt -days 365 -subj "/CN=node1-ca@1764547200" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout sl.key -out sl.csr -subj "/CN=node1@1764547200" 2>/dev/null
printf 'subjectAltName=DNS:node1\nextendedKeyUsage=serverAuth\n' > ext2
openssl x509 -req -in sl.csr -CA sca.crt -CAkey sca.key -CAcreateserial -out sl.crt -days 365 -extfile ext2 2>/dev/null
cat leaf.crt > "$C/pem/openssl-leaf.crt"
cat ca.crt > "$C/pem/openssl-ca.crt"
cat sl.crt sca.crt > "$C/pem/client-go-self-generated-kubelet.crt"
openssl x509 -in leaf.crt -outform der > "$C/pem/leaf.der"

# --- TLS answers ---------------------------------------------------------------
relay() { # relay OUT: one connection 127.0.0.1:18443 -> :18444, server bytes to OUT
    python3 - "$1" <<'PY' &
import socket, sys, threading
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 18443)); ls.listen(1); ls.settimeout(10)
c, _ = ls.accept(); s = socket.create_connection(("127.0.0.1", 18444))
got = bytearray()
def up():
    try:
        while (b := c.recv(65536)):
            s.sendall(b)
    except OSError: pass
threading.Thread(target=up, daemon=True).start()
s.settimeout(3)
try:
    while (b := s.recv(65536)):
        got += b; c.sendall(b)
except OSError: pass
open(sys.argv[1], "wb").write(b"\xff" + bytes(got))
PY
    RELAY=$!
    sleep 0.5
}
serve() { # serve ARGS...: openssl s_server on :18444
    openssl s_server -quiet -accept 127.0.0.1:18444 -cert leaf.crt -key leaf.key "$@" >/dev/null 2>&1 &
    SERVER=$!
    sleep 0.5
}
stop() { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; SERVER=; }
handshake() { # handshake OUT CLIENT-ARGS...
    out=$1; shift
    relay "$out"
    echo | timeout 5 openssl s_client -connect 127.0.0.1:18443 "$@" >/dev/null 2>&1 || true
    wait "$RELAY" 2>/dev/null || true
}
serve -Verify 1 -CAfile ca.crt
handshake "$C/tls_stream/openssl-tls13-certreq" -tls1_3
stop
serve
handshake "$C/tls_stream/openssl-tls12" -tls1_2
stop
serve -tls1_2
handshake "$C/hello_answer/openssl-alert-protocol-version" -tls1_1 -cipher 'ALL:@SECLEVEL=0'
stop
serve -cipher 'ALL:@SECLEVEL=0'
handshake "$C/hello_answer/openssl-tls10" -tls1 -cipher 'ALL:@SECLEVEL=0'
cp "$C/tls_stream/openssl-tls12" "$C/hello_answer/openssl-tls12"
stop

# --- HTTP answers ------------------------------------------------------------
printf '\377HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n' > "$C/http_status/go-tls-server-400"
printf '\377HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request' > "$C/http_status/go-plain-400"
printf '\377HTTP/1.0 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nDate: Sat, 05 Dec 2026 08:00:00 GMT\r\nContent-Length: 2\r\n\r\nok' > "$C/http_status/healthz-200"
printf '\005HTTP/1.1 404 Not Found\r\n\r\n' > "$C/http_status/404-in-pieces"
printf '\377\025\003\003\000\002\002\106' > "$C/http_status/tls-alert"
echo "seeds written under $C"

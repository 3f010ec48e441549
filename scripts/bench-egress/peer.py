"""Both ends of the egress benchmark (scripts/bench-egress.sh).

serve HOST PORT          origin: on each connection send one byte, then
                         answer an 8-byte big-endian length with that many bytes
client MODE HOST PORT N BYTES
                         MODE direct: connect to HOST:PORT; MODE proxy: CONNECT
                         through the proxy at 127.0.0.1:3128. Prints JSON:
                         per-connection set-up times (connect until the origin's
                         first byte) for N connections, and the time to receive
                         BYTES over one connection.
"""

import json
import socket
import struct
import sys
import threading
import time

CHUNK = memoryview(b"x" * (4 << 20))
PROXY = ("127.0.0.1", 3128)


def serve(host, port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(512)
    print("ready", flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=origin, args=(conn,), daemon=True).start()


def origin(conn):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        conn.sendall(b"!")
        want = recv_exact(conn, 8)
        if want is None:
            return
        left = struct.unpack(">Q", want)[0]
        while left > 0:
            n = min(left, len(CHUNK))
            conn.sendall(CHUNK[:n])
            left -= n
    except OSError:
        pass
    finally:
        conn.close()


def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        part = conn.recv(n - len(buf))
        if not part:
            return None
        buf += part
    return buf


def open_conn(mode, host, port):
    """Returns the socket once the origin's first byte has arrived."""
    if mode == "direct":
        s = socket.create_connection((host, port))
    else:
        s = socket.create_connection(PROXY)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if mode == "proxy":
        s.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            part = s.recv(4096)
            if not part:
                raise SystemExit("proxy closed the connection: " + head.decode(errors="replace"))
            head += part
        if not head.startswith(b"HTTP/1.1 200"):
            raise SystemExit("proxy refused: " + head.decode(errors="replace"))
        rest = head.split(b"\r\n\r\n", 1)[1]
        if rest:
            return s
    if s.recv(1) != b"!":
        raise SystemExit("no greeting from the origin")
    return s


def client(mode, host, port, n, size):
    setups = []
    for _ in range(n):
        t0 = time.perf_counter()
        s = open_conn(mode, host, port)
        setups.append(time.perf_counter() - t0)
        s.close()
    s = open_conn(mode, host, port)
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    t0 = time.perf_counter()
    s.sendall(struct.pack(">Q", size))
    got = 0
    while got < size:
        r = s.recv_into(view)
        if r == 0:
            break
        got += r
    elapsed = time.perf_counter() - t0
    s.close()
    if got != size:
        raise SystemExit(f"bulk transfer short: {got} of {size} bytes")
    setups.sort()
    print(json.dumps({
        "mode": mode,
        "setup_median_us": setups[len(setups) // 2] * 1e6,
        "setup_p90_us": setups[int(len(setups) * 0.9)] * 1e6,
        "bulk_bytes": got,
        "bulk_gbps": got / elapsed / 1e9,
    }))


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        client(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))

#!/usr/bin/env python3
"""Time from starting `charter serve` to its first answered /healthz, and its
idle resident memory. Usage: startup.py CHARTER DATA_DIR [RUNS]"""
import http.client, socket, statistics, subprocess, sys, time

charter, data_dir = sys.argv[1], sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

times, rss = [], []
for _ in range(runs):
    port = free_port()
    start = time.perf_counter()
    server = subprocess.Popen([charter, "--data-dir", data_dir, "serve", "--listen", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                break
        except OSError:
            if server.poll() is not None:
                sys.exit("the server exited")
            time.sleep(0.001)
    times.append((time.perf_counter() - start) * 1000)
    time.sleep(2)
    with open(f"/proc/{server.pid}/status") as status:
        rss.append(next(int(l.split()[1]) for l in status if l.startswith("VmRSS")) / 1024)
    server.terminate()
    server.wait()
print(f"serve: first /healthz after {statistics.median(times):.0f} ms (median of {runs}; min {min(times):.0f}, max {max(times):.0f})")
print(f"serve: idle resident memory {statistics.median(rss):.1f} MB (median; max {max(rss):.1f})")

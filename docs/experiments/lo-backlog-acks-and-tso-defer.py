#!/usr/bin/env python3
"""A burst over lo to a reader that sleeps (fuzz options-25002-11: TCP_MAXSEG 536, send() of BYTES at 238 ms), N
times, with what tcp_tso_should_defer() and tcp_add_backlog() decide. Run as root in a fresh netns:

    ip netns add x && CAP=read ip netns exec x python3 docs/experiments/lo-backlog-acks-and-tso-defer.py 20; ip netns del x

CAP: none | hold (a packet socket on lo, as the kernel runner's LoopbackCapture, read only after the run) | read (a
thread reads it, as the runner does) | ring (a TPACKET_V2 rx ring on lo instead, never read). BYTES: 23721 (default; 8908 is scenarios/loopback-burst-acks-wait-in-the-
senders-backlog.json). An ftrace instance (tracefs mounted in the netns's mount namespace if needed) records
tcp:tcp_probe (the server's srtt at each ACK it handles) and net:net_dev_start_xmit on lo (every namespace's lo: a run
mixed with another namespace's lo traffic shows extra packets; leave it out). The machine's simservice run lock is
held throughout. Per run: TCPBacklogCoalesce and TCPRcvCoalesce, the server's data packets, srtt after the handshake
and before/after the first burst ACK, that ACK's RTT sample, the age of the retransmission queue's head when the 3
segments after the 7 are tested (the 7-segment transmit less the first packet's: both first packets left in one
tcp_write_xmit(), one clock read, one stamp), and whether they were deferred. Linux 6.18.44 (docs/kernel-check.md,
session 27): CAP=read 26 runs and CAP=hold 6, no ACK coalesced, all deferred (age 40-86 us, srtt/2 14.5-23 us);
CAP=none 6 of 6 coalesced the two backlog ACKs (packets 2620, 2620, 5240, 5240, 8001), and with BYTES=8908 4 of 4 did,
the receiver then coalescing the last packet too (TCPRcvCoalesce 1); CAP=ring as CAP=none (4 of 4, and 3 of 3 with
BYTES=8908): the ring's copy holds no clone.
"""
import os, sys, socket, time, fcntl, re, subprocess, threading, struct, mmap

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10
CAP = os.environ.get('CAP', 'none')
BYTES = int(os.environ.get('BYTES', '23721'))
T = '/sys/kernel/tracing/instances/lo-backlog-acks'
MSS = 524


def w(p, v):
    with open(p, 'w') as f:
        f.write(v)


def at(t0, ms):
    d = t0 + ms / 1000 - time.monotonic()
    if d > 0:
        time.sleep(d)


def netstat():
    with open('/proc/net/netstat') as f:
        lines = f.read().splitlines()
    d = {}
    for a, b in zip(lines[::2], lines[1::2]):
        for k, v in zip(a.split()[1:], b.split()[1:]):
            d[k] = int(v)
    return d


def run(port):
    """The case's calls at its times; returns the trace text and the two counters' changes."""
    w(T + '/trace', '')
    cap, stop, reader = None, [False], None
    if CAP != 'none':
        cap = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
        cap.bind(('lo', 0x0800))
        cap.settimeout(0.01)
        if CAP == 'ring':  # TPACKET_V2 rx ring: tpacket_rcv() copies each packet into the ring and frees its reference
            cap.setsockopt(263, 10, struct.pack('i', 1))  # SOL_PACKET, PACKET_VERSION, TPACKET_V2
            cap.setsockopt(263, 5, struct.pack('IIII', 1 << 16, 64, 2048, 64 * 32))  # PACKET_RX_RING
            ring = mmap.mmap(cap.fileno(), 64 << 16)
        if CAP == 'read':
            def read():
                while not stop[0]:
                    try:
                        cap.recv(65536)
                    except OSError:
                        pass
            reader = threading.Thread(target=read)
            reader.start()
    n0 = netstat()
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, 1000)
    l.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(('127.0.0.1', port))
    l.listen(128)
    t0 = time.monotonic()
    w(T + '/tracing_on', '1')
    at(t0, 1)
    c = socket.create_connection(('127.0.0.1', port))
    at(t0, 11)
    s, _ = l.accept()
    at(t0, 32)
    c.send(b'x' * 1337, socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL)
    at(t0, 199)
    s.recv(65536, socket.MSG_DONTWAIT)
    at(t0, 238)
    s.send(b'y' * BYTES, socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL)
    at(t0, 278)
    w(T + '/tracing_on', '0')
    got = 0
    while got < BYTES:
        got += len(c.recv(65536, socket.MSG_DONTWAIT))
    c.close(); s.close(); l.close()
    n1 = netstat()
    if cap:
        if CAP == 'ring':
            ring.close()
        stop[0] = True
        if reader:
            reader.join()
        cap.close()
    with open(T + '/trace') as f:
        text = f.read()
    return text, tuple(n1[k] - n0[k] for k in ('TCPBacklogCoalesce', 'TCPRcvCoalesce'))


EVENT = re.compile(r'\s(\d+\.\d+): (tcp_probe|net_dev_start_xmit): (.*)')


def analyse(text, port):
    """The server's data packets (µs, payload) and its tcp_probe events (µs, srtt)."""
    xmits, probes = [], []
    for line in text.splitlines():
        m = EVENT.search(line)
        if not m:
            continue
        t = float(m.group(1)) * 1e6
        if m.group(2) == 'net_dev_start_xmit':
            n = int(re.search(r' len=(\d+)', m.group(3)).group(1)) - 66  # ether 14 + IP 20 + TCP with timestamps 32
            if n > 1337:  # the server's data (the client's 1337 bytes are the only other data)
                xmits.append((t, n))
        elif f'src=127.0.0.1:{port} ' in m.group(3):
            probes.append((t, int(re.search(r'srtt=(\d+)', m.group(3)).group(1))))
    return xmits, probes


def main():
    subprocess.run('ip link set lo up'.split(), check=True)
    subprocess.run('sysctl -qw net.ipv4.tcp_congestion_control=cubic'.split(), check=True)  # the engine's
    if not os.path.isdir('/sys/kernel/tracing/instances'):
        subprocess.run('mount -t tracefs nodev /sys/kernel/tracing'.split(), check=True)
    os.makedirs(T, exist_ok=True)
    w(T + '/trace_clock', 'mono')
    w(T + '/buffer_size_kb', '4096')
    w(T + '/events/tcp/tcp_probe/enable', '1')
    w(T + '/events/net/net_dev_start_xmit/filter', 'name == "lo"')
    w(T + '/events/net/net_dev_start_xmit/enable', '1')
    lock = open('/run/lock/simservice-kernel.lock', 'a')
    fcntl.flock(lock, fcntl.LOCK_EX)
    print(f'# {N} runs, CAP={CAP}, BYTES={BYTES}, kernel {os.uname().release}, load {os.getloadavg()[0]:.1f}')
    try:
        for i in range(N):
            port = 8000 + i
            text, (backlog, rcv) = run(port)
            xmits, probes = analyse(text, port)
            line = f'run {i:2}: TCPBacklogCoalesce {backlog} TCPRcvCoalesce {rcv} packets {[n for _, n in xmits]}'
            burst = [p for p in probes if xmits and p[0] > xmits[0][0]]
            hs = [p for p in probes if xmits and p[0] <= xmits[0][0]]
            # the deferral is tested only where ACK 2621 was handled alone (the 7-segment packet third)
            if len(xmits) >= 4 and xmits[2][1] == 7 * MSS and len(burst) >= 2 and hs:
                sample = burst[0][0] - xmits[0][0]
                age = xmits[2][0] - xmits[0][0]
                deferred = xmits[3][1] != 3 * MSS
                line += (f'  srtt {hs[-1][1]} -> {burst[0][1]} -> {burst[1][1]} us  sample ~{sample:.0f}'
                         f'  head age ~{age:.0f}  srtt/2 {burst[1][1] / 2:.1f}  {"deferred" if deferred else "sent"}')
            print(line)
            time.sleep(0.05)
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        w(T + '/events/tcp/tcp_probe/enable', '0')
        w(T + '/events/net/net_dev_start_xmit/enable', '0')
        os.rmdir(T)


main()

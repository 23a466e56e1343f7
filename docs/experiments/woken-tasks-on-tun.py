#!/usr/bin/env python3
"""A task woken from a softirq runs after the softirq: what a woken connect(), poll(), accept() or send() sees when
the segments behind the one that woke it arrive in the same burst, or apart. Run as root in a fresh netns:

    ip netns add w && ip netns exec w python3 docs/experiments/woken-tasks-on-tun.py connect burst; ip netns del w

CASE: connect | poll | accept | send | sendrst | senddata; MODE: burst (written back to back) | apart (50 ms between them).
The peer is this process on a TUN device (t0, 10.9.0.1 the kernel's side, 10.9.0.2 the peer), SCHED_FIFO on CPU 0;
the woken call runs in a forked child on CPU 0 at normal priority, so it cannot run until the peer sleeps — as a
task woken by net_rx_action() runs after the whole NAPI poll. The netns's congestion control is set to cubic, the
engine's (a fresh netns inherits the host's, here bbr, whose bbr_sndbuf_expand() provisions 3 cwnd, not 2). Linux
6.18.44 (docs/kernel-check.md, the woken calls): connect ECONNRESET / 0; poll revents 0x2001 / 0x1; accept: the
second SYN dropped (ListenOverflows 1) / answered; send 74000 (SO_SNDBUF 82944, PSH at 13000/21000/29000) / 74000
(46080, PSH every 4000) — under bbr it was 138000 (124416) / 74000 (69120). A send() asleep in
sk_stream_wait_connect() (session 27): sendrst ECONNRESET, nothing sent / 100, P. 1:101 ack 1; senddata ". ack 101"
then "P. 1:101 ack 101" / "P. 1:101 ack 1" first.
"""
import os, sys, fcntl, struct, socket, select, time, subprocess

LOCAL, PEER = '10.9.0.1', '10.9.0.2'
F, S, R, P, A = 1, 2, 4, 8, 16
MSS = struct.pack('!BBH', 2, 4, 1000)


def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def pkt(sport, dport, seq, ack, flags, payload=b'', opts=b'', win=65535):
    tcp = struct.pack('!HHIIBBHHH', sport, dport, seq & 0xffffffff, ack & 0xffffffff, (20 + len(opts)) // 4 << 4,
                      flags, win, 0, 0) + opts + payload
    src, dst = socket.inet_aton(PEER), socket.inet_aton(LOCAL)
    c = csum(src + dst + struct.pack('!BBH', 0, 6, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack('!H', c) + tcp[18:]
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, src, dst)
    return ip[:10] + struct.pack('!H', csum(ip)) + ip[12:] + tcp


def parse(b):
    if len(b) < 40 or b[0] >> 4 != 4 or b[9] != 6:
        return None
    sport, dport, seq, ack, off, fl, win = struct.unpack('!HHIIBBH', b[20:36])
    return dict(sport=sport, dport=dport, seq=seq, ack=ack, flags=fl, len=len(b) - 20 - (off >> 4) * 4)


def letters(f):
    return ''.join(c for c, bit in (('S', S), ('F', F), ('R', R), ('P', P), ('.', A)) if f & bit)


class Tun:
    def __init__(self):
        self.fd = os.open('/dev/net/tun', os.O_RDWR)
        fcntl.ioctl(self.fd, 0x400454ca, struct.pack('16sH', b't0', 0x0001 | 0x1000))  # TUNSETIFF, IFF_TUN | IFF_NO_PI
        for c in (f'ip addr add {LOCAL}/24 dev t0', 'ip link set t0 up'):
            subprocess.run(c.split(), check=True)

    def read(self, timeout=1.0):
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            if not select.select([self.fd], [], [], left)[0]:
                return None
            if p := parse(os.read(self.fd, 65536)):
                return p
        return None

    def write(self, *packets, gap=0.0):
        for i, b in enumerate(packets):
            if i and gap:
                time.sleep(gap)
            os.write(self.fd, b)

    def drain(self, timeout):
        seen = []
        while p := self.read(timeout):
            seen.append(p)
        return seen


def app(fn):
    """fn() in a child on CPU 0 at normal priority; returns a function waiting for what it printed."""
    r, w = os.pipe()
    if (pid := os.fork()) == 0:
        os.sched_setaffinity(0, {0})
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        try:
            out = fn()
        except OSError as e:
            out = 'errno %d %s' % (e.errno, os.strerror(e.errno))
        os.write(w, str(out).encode())
        os._exit(0)
    os.close(w)
    return lambda: (os.waitpid(pid, 0), os.read(r, 4096).decode())[1]


def counters(*names):
    lines = open('/proc/net/netstat').read().split('\n')
    out = {}
    for head, vals in zip(lines[0::2], lines[1::2]):
        out.update({k: int(v) for k, v in zip(head.split()[1:], vals.split()[1:]) if k in names})
    return out


def connect_case(t, gap):
    res = app(lambda: (socket.socket().connect((PEER, 80)), 'connect 0')[1])
    syn = t.read()
    t.write(pkt(80, syn['sport'], 7000, syn['seq'] + 1, S | A, opts=MSS), pkt(80, syn['sport'], 7001, 0, R), gap=gap)
    return res()


def poll_case(t, gap):
    def client():
        s = socket.socket()
        s.connect((PEER, 80))
        p = select.poll()
        p.register(s, select.POLLIN | select.POLLRDHUP)
        return 'revents 0x%x' % p.poll()[0][1]
    res = app(client)
    syn = t.read()
    port, rcv = syn['sport'], syn['seq'] + 1
    t.write(pkt(80, port, 7000, rcv, S | A, opts=MSS))
    t.read()  # the handshake's ACK
    time.sleep(0.05)  # poll() sleeps
    t.write(pkt(80, port, 7001, rcv, P | A, b'x' * 100), pkt(80, port, 7101, rcv, F | A), gap=gap)
    return res()


def accept_case(t, gap):
    ready_r, ready_w = os.pipe()

    def server():
        l = socket.socket()
        l.bind((LOCAL, 80))
        l.listen(0)
        os.write(ready_w, b'1')
        _, peer = l.accept()
        time.sleep(0.2)  # the listener stays open while the second SYN is answered (or not)
        return 'accept %s:%d' % peer
    res = app(server)
    os.read(ready_r, 1)
    time.sleep(0.05)
    t.write(pkt(1001, 80, 100, 0, S, opts=MSS))
    synack = t.read()
    time.sleep(0.05)  # accept() sleeps
    before = counters('ListenOverflows', 'ListenDrops')
    t.write(pkt(1001, 80, 101, synack['seq'] + 1, A), pkt(1002, 80, 300, 0, S, opts=MSS), gap=gap)
    seen = [(p['dport'], letters(p['flags'])) for p in t.drain(0.3)]
    after = counters('ListenOverflows', 'ListenDrops')
    return '%s; sent %s; %s' % (res(), seen, {k: after[k] - before[k] for k in after})


def send_case(t, gap):
    def client():
        s = socket.socket()
        s.connect((PEER, 80))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack('ll', 0, 400000))
        n = s.send(b'x' * 300000)
        return 'send %d SO_SNDBUF %d' % (n, s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF))
    res = app(client)
    syn = t.read()
    port, iss = syn['sport'], syn['seq']
    t.write(pkt(80, port, 7000, iss + 1, S | A, opts=MSS))
    t.drain(0.1)  # the handshake's ACK and the first flight; send() sleeps
    t.write(*[pkt(80, port, 7001, iss + 1 + 2000 * i, A) for i in range(1, 6)], gap=gap)
    data = [(p['seq'] - iss - 1, p['len'], letters(p['flags'])) for p in t.drain(0.1) if p['len']]
    return '%s; PSH after the ACKs at %s' % (res(), [seq for seq, _, fl in data if 'P' in fl])


def connect_then_send(t, gap, *behind):
    """A blocking send() asleep in sk_stream_wait_connect() (connect() made non-blocking, then the socket blocking),
    woken by the SYN-ACK with the segments built by behind(port, iss) right behind it; returns what send() returned
    and every segment the kernel sent after the SYN (seq and ack relative to the ISNs)."""
    def client():
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex((PEER, 80))
        s.setblocking(True)
        return 'send %d' % s.send(b'x' * 100)
    res = app(client)
    syn = t.read()
    port, iss = syn['sport'], syn['seq']
    time.sleep(0.05)  # send() sleeps in sk_stream_wait_connect()
    t.write(pkt(80, port, 7000, iss + 1, S | A, opts=MSS), *[b(port, iss) for b in behind], gap=gap)
    seen = [(p['seq'] - iss, p['ack'] - 7000, p['len'], letters(p['flags'])) for p in t.drain(0.3)]
    return '%s; sent %s' % (res(), seen)


def sendrst_case(t, gap):
    return connect_then_send(t, gap, lambda port, iss: pkt(80, port, 7001, 0, R))


def senddata_case(t, gap):
    return connect_then_send(t, gap, lambda port, iss: pkt(80, port, 7001, iss + 1, P | A, b'y' * 100))


if __name__ == '__main__':
    case, mode = sys.argv[1], sys.argv[2]
    with open('/proc/sys/net/ipv4/tcp_congestion_control', 'w') as f:  # this netns only
        f.write('cubic')
    os.sched_setaffinity(0, {0})
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))
    print(case, mode, globals()[case + '_case'](Tun(), 0.05 if mode == 'apart' else 0.0))

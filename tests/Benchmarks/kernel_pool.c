/* The W6 pool pattern on the real kernel: N connections opened and held at once — connect() then accept() for each, all
 * to one listener (127.0.0.1, one port), so that the one process holds 2N descriptors and all N are ESTABLISHED — then
 * the clients' N descriptors closed in the order opened (the server's stay open, in CLOSE-WAIT, as in W6). One thread,
 * blocking sockets, loopback. As W6's simulated clients are ⌈N / 25,000⌉ hosts with ip_local_port_range 1025-65535, the
 * client sockets are spread over as many source addresses (127.0.1.1, 127.0.1.2, …; connection i from address
 * i mod clients), bound with IP_BIND_ADDRESS_NO_PORT so that connect() still picks the port (__inet_hash_connect()).
 * Run inside a network namespace the benchmark creates (ip netns add), with W6's server sysctl somaxconn=1000000 and its
 * clients' ip_local_port_range="1025 65535".
 * Holding 2N descriptors needs RLIMIT_NOFILE ≥ 2N + a few, and raising the hard limit needs CAP_SYS_RESOURCE, which a
 * container may not grant (this project's machine: hard limit 20,000, no CAP_SYS_RESOURCE). With PARK 1 the descriptors
 * are parked instead: every 253 (SCM_MAX_FD) client and every 253 server descriptors are sent in one SCM_RIGHTS message
 * into a unix socketpair (one for each side) and closed, so the files — and the connections — stay alive in flight
 * while the process holds a few hundred descriptors at most (too_many_unix_fds() lets CAP_SYS_ADMIN exceed the limit).
 * The close phase receives the client descriptors back, 253 at a time in the order sent, and closes each. Parking
 * costs each phase a sendmsg() or recvmsg() per 253 connections and a close() of a non-last reference per descriptor;
 * PARK 0 (when the limit allows) measures the pool without it, for comparison.
 * Usage: kernel_pool CONNECTIONS [PARK]   (PARK: 1 to park the descriptors, 0 to hold them; default 1)
 * Prints each phase's wall rate and rate per CPU-second of this process (CLOCK_PROCESS_CPUTIME_ID: its run time as the
 * scheduler counts it, system calls and the loopback softirqs they run on the way out included — this kernel is built
 * without CONFIG_IRQ_TIME_ACCOUNTING; softirqs left to ksoftirqd and timers that fire elsewhere are not in it), and the
 * namespace's /proc/net/sockstat TCP line after each phase (inuse counts the listener too; tw the FIN-WAIT-2 and
 * TIME-WAIT mini sockets). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

static void must(int ok, const char *what) { if (!ok) { perror(what); exit(1); } }

enum { BATCH = 253 }; /* SCM_MAX_FD: the most descriptors one SCM_RIGHTS message carries */

/* A control buffer for one SCM_RIGHTS message of up to BATCH descriptors, aligned as CMSG_FIRSTHDR() and CMSG_DATA()
 * need it (a bare char array need not be; the union with struct cmsghdr gives it the header's alignment). */
union rights {
    char buf[CMSG_SPACE(BATCH * sizeof(int))];
    struct cmsghdr align;
};

/* Sends fds[0..count) (1 ≤ count ≤ BATCH) in one SCM_RIGHTS message on unix socket u and closes them (the message
 * holds the files). */
static void park(int u, const int *fds, int count) {
    must(count >= 1 && count <= BATCH, "park: descriptor count out of range");
    union rights control;
    char byte = 0;
    memset(&control, 0, sizeof control);
    struct iovec io = { .iov_base = &byte, .iov_len = 1 };
    struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = control.buf,
                        .msg_controllen = CMSG_SPACE(count * sizeof(int)) };
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    must(c != NULL, "park: CMSG_FIRSTHDR");
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(count * sizeof(int));
    memcpy(CMSG_DATA(c), fds, count * sizeof(int));
    must(sendmsg(u, &m, 0) == 1, "sendmsg SCM_RIGHTS");
    for (int i = 0; i < count; i++) must(close(fds[i]) == 0, "close parked descriptor");
}

/* Receives the next parked message from unix socket u into fds (room for BATCH); returns how many descriptors it
 * carried (1 to BATCH). */
static int unpark(int u, int *fds) {
    union rights control;
    char byte;
    struct iovec io = { .iov_base = &byte, .iov_len = 1 };
    struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf };
    must(recvmsg(u, &m, 0) == 1 && !(m.msg_flags & MSG_CTRUNC), "recvmsg SCM_RIGHTS");
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    must(c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(sizeof(int)),
         "recvmsg: no SCM_RIGHTS descriptors");
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    must(count <= BATCH, "recvmsg: more descriptors than a batch");
    memcpy(fds, CMSG_DATA(c), count * sizeof(int));
    return (int)count;
}

/* A unix socketpair whose sending end may queue every parked message: [0] sends, [1] receives. */
static void park_pair(int pair[2]) {
    int big = 1 << 28;
    must(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair) == 0, "socketpair");
    must(setsockopt(pair[0], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big) == 0, "SO_SNDBUFFORCE");
}

static double seconds(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* The "TCP: inuse … orphan … tw …" line of /proc/net/sockstat, without its prefix and newline. */
static void sockstat(char *out, size_t size) {
    FILE *f = fopen("/proc/net/sockstat", "r");
    char line[256];
    snprintf(out, size, "?");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "TCP: ", 5) == 0) { line[strcspn(line, "\n")] = 0; snprintf(out, size, "%s", line + 5); }
    if (f) fclose(f);
}

int main(int argc, char **argv) {
    char *end = NULL;
    long n = argc > 1 ? strtol(argv[1], &end, 10) : 100000;
    if (argc > 1 && (*argv[1] == 0 || *end != 0 || n < 1 || n > 10000000)) {
        fprintf(stderr, "usage: kernel_pool CONNECTIONS [PARK]  (CONNECTIONS 1 to 10000000, PARK 0 or 1)\n");
        return 2;
    }
    long clients = (n + 24999) / 25000;
    int parked = argc > 2 ? atoi(argv[2]) != 0 : 1, one = 1;
    if (!parked) {
        struct rlimit lim = { .rlim_cur = (rlim_t)(2 * n + 64), .rlim_max = (rlim_t)(2 * n + 64) };
        must(setrlimit(RLIMIT_NOFILE, &lim) == 0, "setrlimit RLIMIT_NOFILE (PARK 1 parks the descriptors instead)");
    }
    /* Unparked, client and server hold all N each; parked, one batch each before it is sent. */
    size_t held = parked ? BATCH : (size_t)n;
    int *client = calloc(held, sizeof *client), *server = calloc(held, sizeof *server), cpark[2], spark[2];
    must(client != NULL && server != NULL, "calloc descriptor arrays");
    if (parked) { park_pair(cpark); park_pair(spark); }
    int l = socket(AF_INET, SOCK_STREAM, 0);
    must(l >= 0, "socket listener");
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = htons(80) };
    must(bind(l, (struct sockaddr *)&a, sizeof a) == 0, "bind");
    must(listen(l, 1000000) == 0, "listen");
    double t0 = seconds(CLOCK_MONOTONIC), c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
    for (long i = 0; i < n; i++) {
        struct sockaddr_in from = { .sin_family = AF_INET, .sin_addr.s_addr = htonl((uint32_t)(0x7f000101 + i % clients)) };
        int c = socket(AF_INET, SOCK_STREAM, 0);
        must(c >= 0, "socket");
        must(setsockopt(c, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) == 0, "IP_BIND_ADDRESS_NO_PORT");
        must(bind(c, (struct sockaddr *)&from, sizeof from) == 0, "bind client");
        must(connect(c, (struct sockaddr *)&a, sizeof a) == 0, "connect");
        int s = accept(l, NULL, NULL);
        must(s >= 0, "accept");
        client[i % held] = c;
        server[i % held] = s;
        if (parked && (i % BATCH == BATCH - 1 || i == n - 1)) {
            park(cpark[0], client, (int)(i % BATCH + 1));
            park(spark[0], server, (int)(i % BATCH + 1));
        }
    }
    double t1 = seconds(CLOCK_MONOTONIC), c1 = seconds(CLOCK_PROCESS_CPUTIME_ID);
    char open[256], closed[256];
    sockstat(open, sizeof open);
    double t2 = seconds(CLOCK_MONOTONIC), c2 = seconds(CLOCK_PROCESS_CPUTIME_ID);
    if (parked)
        for (long i = 0; i < n;) {
            int count = unpark(cpark[1], client);
            for (int k = 0; k < count; k++) must(close(client[k]) == 0, "close client");
            i += count;
        }
    else
        for (long i = 0; i < n; i++) must(close(client[i]) == 0, "close client");
    double t3 = seconds(CLOCK_MONOTONIC), c3 = seconds(CLOCK_PROCESS_CPUTIME_ID);
    sockstat(closed, sizeof closed);
    printf("kernel_pool n=%ld clients=%ld parked=%d open_wall_s=%.3f open_per_s=%.0f open_cpu_s=%.3f open_per_cpu_s=%.0f "
        "close_wall_s=%.3f close_per_s=%.0f close_cpu_s=%.3f close_per_cpu_s=%.0f held=\"%s\" closed=\"%s\"\n",
        n, clients, parked, t1 - t0, n / (t1 - t0), c1 - c0, n / (c1 - c0), t3 - t2, n / (t3 - t2), c3 - c2, n / (c3 - c2), open, closed);
    free(client);
    free(server);
    return 0;
}

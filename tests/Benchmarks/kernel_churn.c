/* The W1 churn pattern on the real kernel: connect, accept, 1 KB request, 1 KB response, the client
 * closes first, then the server; one thread, blocking sockets, loopback. Run inside a network
 * namespace the benchmark creates (ip netns add), with tcp_tw_reuse=1 and ports 1024-65535.
 * Usage: kernel_churn CONNECTIONS REQUEST_BYTES RESPONSE_BYTES
 * Prints the wall rate and the rate per CPU-second of this process (CLOCK_PROCESS_CPUTIME_ID: its run time as the
 * scheduler counts it, system calls and the loopback softirqs they run on the way out included — this kernel is built
 * without CONFIG_IRQ_TIME_ACCOUNTING; softirqs left to ksoftirqd and timers that fire elsewhere are not in it). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void must(int ok, const char *what) { if (!ok) { perror(what); exit(1); } }

static void full_read(int fd, char *buf, long n) {
    while (n > 0) { long r = read(fd, buf, n); must(r > 0, "read"); n -= r; }
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000, req = argc > 2 ? atol(argv[2]) : 1024, resp = argc > 3 ? atol(argv[3]) : 1024;
    must(n >= 1 && req >= 0 && resp >= 0, "usage: kernel_churn CONNECTIONS(>=1) REQUEST_BYTES(>=0) RESPONSE_BYTES(>=0)");
    char *buf = calloc(1, (size_t)(req > resp ? req : resp) + 1);
    must(buf != NULL, "calloc buffer");
    int l = socket(AF_INET, SOCK_STREAM, 0);
    must(l >= 0, "socket listener");
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0 };
    socklen_t len = sizeof a;
    must(bind(l, (struct sockaddr *)&a, sizeof a) == 0, "bind");
    must(listen(l, 4096) == 0, "listen");
    must(getsockname(l, (struct sockaddr *)&a, &len) == 0, "getsockname");
    struct timespec t0, t1, c0, c1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    for (long i = 0; i < n; i++) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        must(c >= 0, "socket");
        must(connect(c, (struct sockaddr *)&a, sizeof a) == 0, "connect");
        int s = accept(l, NULL, NULL);
        must(s >= 0, "accept");
        must(write(c, buf, req) == req, "write request");
        full_read(s, buf, req);
        must(write(s, buf, resp) == resp, "write response");
        full_read(c, buf, resp);
        close(c);
        close(s);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    double wall = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    double cpu = (c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) / 1e9;
    free(buf);
    printf("kernel connections=%ld wall_s=%.3f lifecycles_per_s=%.0f cpu_s=%.3f lifecycles_per_cpu_s=%.0f\n", n, wall, n / wall, cpu, n / cpu);
    return 0;
}

/* bench_swarm — the libp2p host on loopback, one process per side (fork):
 *   bulk       one Noise+yamux stream, /lester/bulk/1.0.0: MB/s, CPU seconds per end, and
 *              per_core MB/s = bytes / the busier end's CPU seconds
 *   tcp        plain loopback TCP with the same 256 KiB writes: the ceiling
 *   aead       EVP ChaCha20-Poly1305 on 64 KiB messages, one core: the reference (wall
 *              clock MB/s, and cpu_MBps per CPU second)
 *   handshakes full upgrades (TCP + mss + Noise XX + mss + yamux) per second
 *   idle_rss   resident memory per idle upgraded connection (both ends in one process)
 * usage: bench_swarm [MiB] [bench...] (default 1024 MiB, every bench; names: aead tcp bulk
 * handshakes idle_rss). Prints `name key=value ...` lines. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/clock/clock.h"
#include "lib/crypto/aead.h"
#include "lib/crypto/ed25519.h"
#include "lib/log/log.h"
#include "lib/mem/mem.h"
#include "net/diag/diag.h"
#include "net/swarm/swarm.h"

static double
cpu_seconds(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static long
rss_kib(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* A listening swarm; its address (with /p2p) goes to `out`. */
static swarm_t *
server(struct event_base *base, multiaddr_t **out)
{
    ed25519_keypair_t k;
    ed25519_keypair_generate(&k);
    swarm_config_t cfg = { .max_conns = 100000, .inbound_streams_burst = 100000,
                           .inbound_streams_rate = 100000 };
    swarm_t *sw = swarm_new(base, &k, &cfg, NULL);
    diag_serve(sw, 1024);
    multiaddr_t *ma;
    multiaddr_parse("/ip4/127.0.0.1/tcp/0", &ma);
    swarm_listen(sw, ma);
    multiaddr_free(ma);
    const multiaddr_t *const *addrs;
    swarm_listen_addrs(sw, &addrs);
    *out = multiaddr_with_peer_id(addrs[0], swarm_local_peer(sw));
    return sw;
}

/* Fork a process serving on a fresh swarm; returns its pid and address. */
static pid_t
fork_server(multiaddr_t **addr)
{
    int pfd[2];
    if (pipe(pfd) < 0)
        exit(1);
    pid_t pid = fork();
    if (pid == 0) {
        struct event_base *base = event_base_new();
        multiaddr_t *ma;
        swarm_t *sw = server(base, &ma);
        char *s = multiaddr_to_str(ma);
        if (write(pfd[1], s, strlen(s) + 1) < 0)
            _exit(1);
        event_base_dispatch(base);
        swarm_free(sw);
        _exit(0);
    }
    char text[512] = "";
    if (read(pfd[0], text, sizeof text - 1) <= 0 || multiaddr_parse(text, addr) < 0)
        exit(1);
    close(pfd[0]);
    close(pfd[1]);
    return pid;
}

typedef struct client_t {
    struct event_base *base;
    swarm_t *sw;
    int pending;
    diag_result_t res;
} client_t;

static void
bulk_done(void *ctx, const diag_result_t *res)
{
    client_t *c = ctx;
    c->res = *res;
    event_base_loopbreak(c->base);
}

static void
dialled(void *ctx, swarm_conn_t *conn, int err)
{
    client_t *c = ctx;
    if (!conn || err)
        fprintf(stderr, "dial failed: %d\n", err);
    if (--c->pending == 0)
        event_base_loopbreak(c->base);
}

static client_t *
client_new(void)
{
    client_t *c = calloc(1, sizeof *c);
    ed25519_keypair_t k;
    ed25519_keypair_generate(&k);
    c->base = event_base_new();
    swarm_config_t cfg = { .max_conns = 100000 };
    c->sw = swarm_new(c->base, &k, &cfg, NULL);
    return c;
}

static void
client_free(client_t *c)
{
    swarm_free(c->sw);
    event_base_free(c->base);
    free(c);
}

static void
bench_bulk(uint64_t bytes)
{
    multiaddr_t *addr;
    pid_t pid = fork_server(&addr);
    client_t *c = client_new();
    c->pending = 1;
    swarm_dial(c->sw, addr, dialled, c);
    event_base_dispatch(c->base);
    peer_id_t peer;
    multiaddr_get_peer_id(addr, &peer);
    double cpu0 = cpu_seconds(RUSAGE_SELF);
    double child0 = cpu_seconds(RUSAGE_CHILDREN); /* earlier benches' children (tcp) */
    uint64_t t0 = clock_mono_us();
    diag_bulk(c->sw, &peer, bytes, bulk_done, c);
    event_base_dispatch(c->base);
    double secs = (double)(clock_mono_us() - t0) / 1e6;
    double cpu = cpu_seconds(RUSAGE_SELF) - cpu0;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    double rcpu = cpu_seconds(RUSAGE_CHILDREN) - child0;
    /* per_core: the rate if each end had a core of its own (the busier end bounds it);
     * on a shared machine wall-clock MB/s mostly measures the other processes */
    printf("swarm_bulk MBps=%.0f per_core_MBps=%.0f bytes=%llu seconds=%.3f sender_cpu_s=%.3f "
           "receiver_cpu_s=%.3f ok=%d\n", (double)bytes / secs / 1e6,
           (double)bytes / LS_MAX(LS_MAX(cpu, rcpu), 1e-6) / 1e6, (unsigned long long)bytes, secs,
           cpu, rcpu, c->res.err == 0);
    client_free(c);
    multiaddr_free(addr);
}

static void
bench_tcp(uint64_t bytes)
{
    int sv[2];
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sa;
    bind(lfd, (struct sockaddr *)&sa, sl);
    listen(lfd, 1);
    getsockname(lfd, (struct sockaddr *)&sa, &sl);
    static uint8_t chunk[1 << 20];
    pid_t pid = fork();
    if (pid == 0) {
        int fd = accept(lfd, NULL, NULL);
        while (read(fd, chunk, sizeof chunk) > 0) {
        }
        _exit(0);
    }
    sv[0] = socket(AF_INET, SOCK_STREAM, 0);
    connect(sv[0], (struct sockaddr *)&sa, sl);
    uint64_t t0 = clock_mono_us();
    for (uint64_t sent = 0; sent < bytes;) {
        ssize_t n = write(sv[0], chunk, 256 * 1024);
        if (n <= 0)
            break;
        sent += (uint64_t)n;
    }
    close(sv[0]);
    waitpid(pid, NULL, 0);
    double secs = (double)(clock_mono_us() - t0) / 1e6;
    close(lfd);
    printf("tcp_loopback MBps=%.0f seconds=%.3f\n", (double)bytes / secs / 1e6, secs);
}

static void
bench_aead(void)
{
    static uint8_t key[AEAD_KEY_LEN], buf[65519 + AEAD_TAG_LEN];
    aead_t *a = aead_new(key);
    double cpu0 = cpu_seconds(RUSAGE_SELF);
    uint64_t n = 0, t0 = clock_mono_us();
    while (clock_mono_us() - t0 < 1000000) {
        for (int i = 0; i < 64; i++)
            aead_seal(a, n++, NULL, 0, buf, 65519, buf);
    }
    double secs = (double)(clock_mono_us() - t0) / 1e6;
    double cpu = LS_MAX(cpu_seconds(RUSAGE_SELF) - cpu0, 1e-6);
    printf("evp_chacha20poly1305 MBps=%.0f cpu_MBps=%.0f msg=65519\n",
           (double)n * 65519 / secs / 1e6, (double)n * 65519 / cpu / 1e6);
    aead_free(a);
}

static void
bench_handshakes(void)
{
    multiaddr_t *addr;
    pid_t pid = fork_server(&addr);
    client_t *c = client_new();
    int n = 0;
    uint64_t t0 = clock_mono_us();
    peer_id_t peer;
    multiaddr_get_peer_id(addr, &peer);
    while (clock_mono_us() - t0 < 2000000) {
        c->pending = 1;
        swarm_dial(c->sw, addr, dialled, c);
        event_base_dispatch(c->base);
        swarm_disconnect(c->sw, &peer, "bench");
        event_base_loop(c->base, EVLOOP_NONBLOCK);
        n++;
    }
    double secs = (double)(clock_mono_us() - t0) / 1e6;
    printf("swarm_handshakes per_s=%.0f count=%d\n", n / secs, n);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    client_free(c);
    multiaddr_free(addr);
}

/* Both ends in one process: RSS growth / (2 x connections). */
static void
bench_idle_rss(int conns)
{
    client_t *c = client_new();
    multiaddr_t *addr;
    swarm_t *srv = server(c->base, &addr);
    for (int i = 0; i < 4; i++) { /* warm up the allocator and the shared buffers */
        multiaddr_t *bare = multiaddr_without_peer_id(addr);
        c->pending = 1;
        swarm_dial(c->sw, bare, dialled, c);
        event_base_dispatch(c->base);
        multiaddr_free(bare);
    }
    long before = rss_kib();
    multiaddr_t *bare = multiaddr_without_peer_id(addr);
    c->pending = conns;
    for (int i = 0; i < conns; i++)
        swarm_dial(c->sw, bare, dialled, c); /* no /p2p: a new connection each time */
    event_base_dispatch(c->base);
    struct timeval tv = { 1, 0 }; /* let the send buffers drain and be released */
    event_base_loopexit(c->base, &tv);
    event_base_dispatch(c->base);
    long after = rss_kib();
    printf("swarm_idle_rss KiB_per_conn_end=%.1f conns=%d\n",
           (double)(after - before) / (2.0 * conns), conns);
    multiaddr_free(bare);
    multiaddr_free(addr);
    swarm_free(srv);
    client_free(c);
}

/* True if `name` was asked for on the command line (or nothing was). */
static bool
wanted(int argc, char **argv, const char *name)
{
    if (argc <= 2)
        return true;
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return true;
    return false;
}

int
main(int argc, char **argv)
{
    uint64_t mib = argc > 1 ? strtoull(argv[1], NULL, 10) : 1024;
    log_set_level(LOG_WARN);
    signal(SIGPIPE, SIG_IGN);
    if (wanted(argc, argv, "aead"))
        bench_aead();
    if (wanted(argc, argv, "tcp"))
        bench_tcp(mib << 20);
    if (wanted(argc, argv, "bulk"))
        bench_bulk(mib << 20);
    if (wanted(argc, argv, "handshakes"))
        bench_handshakes();
    if (wanted(argc, argv, "idle_rss"))
        bench_idle_rss(1000);
    return 0;
}

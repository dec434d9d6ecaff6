/* swarm_listen — TCP listeners: bind, accept (with the connection limit), and the
 * addresses we announce. */
#define LOG_MODULE "swarm"
#include <ifaddrs.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err/err.h"
#include "lib/log/log.h"
#include "net/swarm/swarm_internal.h"

static void
refuse_fd(swarm_t *sw, evutil_socket_t fd, swarm_refusal_t why)
{
    /* RST rather than FIN: the peer learns at once, and no TIME_WAIT is kept here */
    struct linger lg = { 1, 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
    swarm_refuse(sw, why, NULL);
}

static void
on_accept(evutil_socket_t lfd, short what, void *arg)
{
    swarm_t *sw = arg;
    (void)what;
    for (int i = 0; i < 64; i++) { /* a bounded batch per wakeup */
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        evutil_socket_t fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
                                     SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                log_warn("accept: %s", strerror(errno));
            return;
        }
        if (sw->n_conns >= sw->cfg.max_conns) {
            log_info("inbound connection refused: %zu connections (max_conns)", sw->n_conns);
            refuse_fd(sw, fd, SWARM_REFUSE_MAX_CONNS);
            continue;
        }
        if (sw->hooks.allow_inbound && !sw->hooks.allow_inbound(sw->hooks.ctx)) {
            log_debug("inbound connection refused by the connection manager");
            refuse_fd(sw, fd, SWARM_REFUSE_INBOUND_DENIED);
            continue;
        }
        swarm_conn_t *c = conn_new(sw, fd, true);
        c->remote_addr = multiaddr_from_sockaddr_tcp((struct sockaddr *)&ss);
        conn_start_upgrade(c);
    }
}

static int
bind_listen(const struct sockaddr_storage *ss, socklen_t sl, evutil_socket_t *out)
{
    evutil_socket_t fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)ss, sl) < 0 || listen(fd, 1024) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    *out = fd;
    return 0;
}

int
swarm_listen(swarm_t *sw, const multiaddr_t *ma)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    evutil_socket_t fd = -1;
    int rc = multiaddr_to_sockaddr(ma, &ss, &sl);
    if (rc < 0 || multiaddr_component_count(ma) != 2)
        return LS_ENOTSUP;
    if ((rc = bind_listen(&ss, sl, &fd)) < 0)
        return rc;
    sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    multiaddr_t *bound = multiaddr_from_sockaddr_tcp((struct sockaddr *)&ss);
    if (!bound) {
        close(fd);
        return LS_ENOTSUP;
    }
    sw->listeners = ls_realloc(sw->listeners, (sw->n_listeners + 1) * sizeof *sw->listeners);
    sw->listen_addrs =
        ls_realloc(sw->listen_addrs, (sw->n_listeners + 1) * sizeof *sw->listen_addrs);
    listener_t *l = &sw->listeners[sw->n_listeners];
    l->fd = fd;
    l->addr = bound;
    l->ev = event_new(sw->base, fd, EV_READ | EV_PERSIST, on_accept, sw);
    event_add(l->ev, NULL);
    sw->listen_addrs[sw->n_listeners++] = bound;
    char *s = multiaddr_to_str(bound);
    log_info("listening on %s", s);
    free(s);
    return 0;
}

size_t
swarm_listen_addrs(const swarm_t *sw, const multiaddr_t *const **addrs)
{
    *addrs = (const multiaddr_t *const *)sw->listen_addrs;
    return sw->n_listeners;
}

static bool
is_unspecified(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
    return IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
}

static void
push_addr(multiaddr_t ***out, size_t *n, multiaddr_t *ma)
{
    if (!ma)
        return;
    for (size_t i = 0; i < *n; i++) {
        if (multiaddr_equal((*out)[i], ma)) {
            multiaddr_free(ma);
            return;
        }
    }
    *out = ls_realloc(*out, (*n + 1) * sizeof **out);
    (*out)[(*n)++] = ma;
}

/* Every interface address of the family of `ss`, with its port. */
static void
expand_unspecified(const struct sockaddr_storage *ss, multiaddr_t ***out, size_t *n)
{
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) < 0)
        return;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != ss->ss_family)
            continue;
        struct sockaddr_storage a = { 0 };
        if (ss->ss_family == AF_INET) {
            memcpy(&a, i->ifa_addr, sizeof(struct sockaddr_in));
            ((struct sockaddr_in *)&a)->sin_port = ((const struct sockaddr_in *)ss)->sin_port;
        } else {
            memcpy(&a, i->ifa_addr, sizeof(struct sockaddr_in6));
            struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&a;
            if (IN6_IS_ADDR_LINKLOCAL(&a6->sin6_addr))
                continue; /* needs a zone; not announceable */
            a6->sin6_port = ((const struct sockaddr_in6 *)ss)->sin6_port;
        }
        push_addr(out, n, multiaddr_from_sockaddr_tcp((struct sockaddr *)&a));
    }
    freeifaddrs(ifs);
}

size_t
swarm_announce_addrs(const swarm_t *sw, multiaddr_t ***out)
{
    size_t n = 0;
    *out = NULL;
    for (size_t i = 0; i < sw->n_listeners; i++) {
        struct sockaddr_storage ss;
        socklen_t sl;
        if (multiaddr_to_sockaddr(sw->listen_addrs[i], &ss, &sl) == 0 && is_unspecified(&ss))
            expand_unspecified(&ss, out, &n);
        else
            push_addr(out, &n, multiaddr_dup(sw->listen_addrs[i]));
    }
    return n;
}

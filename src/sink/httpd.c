/*
 * The HTTP server of `sleuth watch --listen` (see httpd.h): the last stage
 * of the watcher's pipeline, after the sinks have rendered their documents.
 * We bind the listening socket ourselves, so that a bad address or a port
 * in use comes back as a precise error rather than libmicrohttpd's NULL,
 * and hand it to one libmicrohttpd daemon running its own thread. That
 * thread answers from the route table under a mutex, copying bytes only.
 *
 * Slow clients: libmicrohttpd's timeout closes only idle connections, so
 * a client that sends a header byte now and then keeps its slot for ever,
 * and a full table refuses the next scrape. We track every connection
 * (its client, and since when it waits for a request head or is being
 * answered): a reaper thread shuts down one that overstays its deadline,
 * and a new connection that finds the table full, or its client at its
 * limit, pushes out the connection that has waited longest for a request
 * head. A scrape sends its head at once and is answered in the same
 * callback, so it always finds room. Every callback runs on the daemon's
 * one thread; the reaper only calls shutdown(2) on sockets still in the
 * table (the daemon closes a socket only after telling us), under conns_lock.
 */
#include "sink/httpd.h"

#include "util/clock.h"
#include "util/xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/banned.h"

/*
 * What the live page needs and nothing more: its inline style and script,
 * fetch() to the watcher itself, and data: images (the empty favicon that
 * keeps browsers from requesting /favicon.ico). No framing, no forms.
 */
#define CSP                                                                                      \
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; " \
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

#define CONNECTION_LIMIT     64  /* connections kept; a newcomer pushes out the slowest */
#define CONNECTION_HARD_MAX  128 /* libmicrohttpd's own cap: room while the pushed-out close */
#define PER_CLIENT_LIMIT     16  /* connections from one address */
#define CONNECTION_TIMEOUT_S 10
#define HEAD_DEADLINE_US     (5 * 1000000LL)  /* to send a request head once connected or served */
#define ANSWER_DEADLINE_US   (30 * 1000000LL) /* to read an answer (and send a body we refuse) */
#define REAP_EVERY_US        (250 * 1000LL)

/* One open connection, the daemon's socket context for it. */
struct conn {
    int fd;
    struct sockaddr_storage addr;
    bool answering;   /* a request head arrived: its answer is under way */
    bool shut;        /* shut down by us, waiting for the daemon to close it */
    int64_t since_us; /* connected, or the last answer was done (waiting); the head came */
};

struct route {
    char *path;
    char *content_type;
    char *body;
    size_t len;
};

struct httpd {
    struct MHD_Daemon *daemon;
    pthread_mutex_t conns_lock; /* guards conns, nconns and stopping */
    pthread_cond_t stop_cond;
    struct conn *conns[CONNECTION_HARD_MAX];
    size_t nconns;
    bool stopping;
    pthread_t reaper;
    pthread_mutex_t lock; /* guards routes */
    struct route *routes;
    size_t nroutes, cap;
    int port;
    char authority[INET6_ADDRSTRLEN + 8];
};

/* ------------------------------------------------------------------------ */
/* Responses                                                                */

static void add_common_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Content-Security-Policy", CSP);
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
}

static enum MHD_Result queue(struct MHD_Connection *c, unsigned status, const char *content_type,
                             const char *body, size_t len, bool is_405)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", content_type);
    add_common_headers(r);
    if (is_405)
        MHD_add_response_header(r, "Allow", "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static struct route *find_route(const struct httpd *h, const char *path)
{
    for (size_t i = 0; i < h->nroutes; i++)
        if (strcmp(h->routes[i].path, path) == 0)
            return &h->routes[i];
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Slow clients                                                             */

static bool same_client(const struct sockaddr_storage *a, const struct sockaddr *b)
{
    if (a->ss_family != b->sa_family)
        return false;
    if (b->sa_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    if (b->sa_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
    return false;
}

/*
 * The daemon then sees the end of the socket and closes the connection.
 * shutdown, not close: the descriptor stays the daemon's. With conns_lock held.
 */
static void push_out(struct conn *c)
{
    if (!c->shut)
        (void)shutdown(c->fd, SHUT_RDWR);
    c->shut = true;
}

/* The connection of client (anyone's if NULL) that has waited longest for a request head. */
static struct conn *slowest_waiting(struct httpd *h, const struct sockaddr *client)
{
    struct conn *best = NULL;
    for (size_t i = 0; i < h->nconns; i++) {
        struct conn *c = h->conns[i];
        if (c->shut || c->answering || (client && !same_client(&c->addr, client)))
            continue;
        if (!best || c->since_us < best->since_us)
            best = c;
    }
    return best;
}

/* libmicrohttpd's accept policy: makes room for a newcomer, or refuses it if no one gives way. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    struct httpd *h = cls;
    (void)addrlen;
    pthread_mutex_lock(&h->conns_lock);
    size_t live = 0, mine = 0;
    for (size_t i = 0; i < h->nconns; i++) {
        if (h->conns[i]->shut)
            continue;
        live++;
        mine += same_client(&h->conns[i]->addr, addr);
    }
    bool ok = h->nconns < CONNECTION_HARD_MAX;
    struct conn *c;
    if (ok && mine >= PER_CLIENT_LIMIT) {
        ok = (c = slowest_waiting(h, addr)) != NULL;
        if (ok) {
            push_out(c);
            live--;
        }
    }
    if (ok && live >= CONNECTION_LIMIT) {
        ok = (c = slowest_waiting(h, NULL)) != NULL;
        if (ok)
            push_out(c);
    }
    pthread_mutex_unlock(&h->conns_lock);
    return ok ? MHD_YES : MHD_NO;
}

/* libmicrohttpd's connection notifier: the table follows the daemon's connections. */
static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct httpd *h = cls;
    pthread_mutex_lock(&h->conns_lock);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ad =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (fd && ad && ad->client_addr && h->nconns < CONNECTION_HARD_MAX) {
            struct conn *c = xcalloc(1, sizeof(*c));
            c->fd = fd->connect_fd;
            memcpy(&c->addr, ad->client_addr,
                   ad->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                          : sizeof(struct sockaddr_in));
            c->since_us = clock_mono_us();
            h->conns[h->nconns++] = c;
            *socket_context = c;
        }
    } else if (*socket_context) {
        for (size_t i = 0; i < h->nconns; i++) {
            if (h->conns[i] == *socket_context) {
                h->conns[i] = h->conns[--h->nconns];
                break;
            }
        }
        free(*socket_context);
        *socket_context = NULL;
    }
    pthread_mutex_unlock(&h->conns_lock);
}

/* A request head arrived (answering) or its answer is done: the connection's clock restarts. */
static void conn_set_answering(struct httpd *h, struct MHD_Connection *mc, bool answering)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (!i || !i->socket_context)
        return;
    struct conn *c = i->socket_context;
    pthread_mutex_lock(&h->conns_lock);
    c->answering = answering;
    c->since_us = clock_mono_us();
    pthread_mutex_unlock(&h->conns_lock);
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)req_cls;
    (void)toe;
    conn_set_answering(cls, mc, false);
}

/* Pushes out every connection past its deadline, four times a second, until httpd_stop. */
static void *reaper_main(void *arg)
{
    struct httpd *h = arg;
    pthread_mutex_lock(&h->conns_lock);
    while (!h->stopping) {
        int64_t now = clock_mono_us();
        for (size_t i = 0; i < h->nconns; i++) {
            struct conn *c = h->conns[i];
            if (now - c->since_us > (c->answering ? ANSWER_DEADLINE_US : HEAD_DEADLINE_US))
                push_out(c);
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t ns = ts.tv_nsec + REAP_EVERY_US * 1000;
        ts.tv_sec += (time_t)(ns / 1000000000);
        ts.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&h->stop_cond, &h->conns_lock, &ts);
    }
    pthread_mutex_unlock(&h->conns_lock);
    return NULL;
}

/*
 * libmicrohttpd's access handler. Every request is answered on the first
 * call: a GET has no body to wait for, and for any other method the 405 is
 * queued before its body is read (libmicrohttpd then discards the body and
 * closes the connection).
 */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **req_cls)
{
    struct httpd *h = cls;
    (void)version;
    (void)upload_data;
    (void)upload_size;
    (void)req_cls;
    conn_set_answering(h, c, true);

    static const char text[] = "text/plain; charset=utf-8";
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        static const char msg[] = "method not allowed\n";
        return queue(c, MHD_HTTP_METHOD_NOT_ALLOWED, text, msg, sizeof(msg) - 1, true);
    }
    pthread_mutex_lock(&h->lock);
    const struct route *rt = find_route(h, url);
    enum MHD_Result ret;
    if (rt) {
        ret = queue(c, MHD_HTTP_OK, rt->content_type, rt->body, rt->len, false);
    } else {
        static const char msg[] = "not found\n";
        ret = queue(c, MHD_HTTP_NOT_FOUND, text, msg, sizeof(msg) - 1, false);
    }
    pthread_mutex_unlock(&h->lock);
    return ret;
}

/* ------------------------------------------------------------------------ */
/* Listening                                                                */

/*
 * Splits listen into host and port. ":PORT" and "PORT" mean loopback: the
 * watcher exposes what it sees of the database only where the user says.
 */
static int split_listen(const char *addr, char *host, size_t hostsz, char *port, size_t portsz,
                        struct err *err)
{
    const char *colon = strrchr(addr, ':');
    const char *h = "127.0.0.1", *p = addr;
    size_t hlen = strlen(h);
    if (colon) {
        p = colon + 1;
        if (colon > addr) {
            h = addr;
            hlen = (size_t)(colon - addr);
            if (h[0] == '[' && h[hlen - 1] == ']') {
                h++;
                hlen -= 2;
            } else if (memchr(h, ':', hlen)) {
                return err_set(err, ERR_USAGE,
                               "invalid listen address '%s': write an IPv6 address in brackets",
                               addr);
            }
        }
    }
    size_t plen = strlen(p);
    bool digits = plen > 0 && plen <= 5 && strspn(p, "0123456789") == plen;
    if (!digits || atoi(p) > 65535)
        return err_set(err, ERR_USAGE, "invalid listen address '%s': expected HOST:PORT", addr);
    if (hlen == 0 || hlen >= hostsz)
        return err_set(err, ERR_USAGE, "invalid listen address '%s': bad host", addr);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    snprintf(port, portsz, "%s", p);
    return 0;
}

/* Binds and listens on the first address host:port resolves to; returns the socket or -1. */
static int open_listener(const char *addr, int *family, struct err *err)
{
    char host[256], port[8];
    if (split_listen(addr, host, sizeof(host), port, sizeof(port), err) < 0)
        return -1;
    struct addrinfo hints = { 0 }, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0)
        return err_set(err, ERR_USAGE, "cannot resolve '%s': %s", host, gai_strerror(rc));
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
    if (fd < 0) {
        err_set(err, ERR_IO, "cannot listen on '%s': %s", addr, strerror(errno));
        freeaddrinfo(res);
        return -1;
    }
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (res->ai_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 64) < 0) {
        err_set(err, ERR_IO, "cannot listen on '%s': %s", addr, strerror(errno));
        close(fd);
        freeaddrinfo(res);
        return -1;
    }
    *family = res->ai_family;
    freeaddrinfo(res);
    return fd;
}

/* Fills port and authority from the bound socket. */
static void read_bound_address(struct httpd *h, int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char ip[INET6_ADDRSTRLEN] = "?";
    h->port = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6) {
            const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
            h->port = ntohs(a->sin6_port);
            snprintf(h->authority, sizeof(h->authority), "[%s]:%d", ip, h->port);
            return;
        }
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
        h->port = ntohs(a->sin_port);
    }
    snprintf(h->authority, sizeof(h->authority), "%s:%d", ip, h->port);
}

int httpd_start(struct httpd **out, const char *addr, struct err *err)
{
    *out = NULL;
    int family = AF_INET;
    int fd = open_listener(addr && *addr ? addr : HTTPD_DEFAULT_LISTEN, &family, err);
    if (fd < 0)
        return -1;
    struct httpd *h = xcalloc(1, sizeof(*h));
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&h->conns_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->stop_cond, &ca);
    pthread_condattr_destroy(&ca);
    read_bound_address(h, fd);
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC;
    if (family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h->daemon = MHD_start_daemon(flags, 0, on_accept, h, on_request, h, MHD_OPTION_LISTEN_SOCKET,
                                 fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_HARD_MAX,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
                                 MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
    if (!h->daemon || pthread_create(&h->reaper, NULL, reaper_main, h) != 0) {
        if (h->daemon)
            MHD_stop_daemon(h->daemon);
        else
            close(fd);
        pthread_cond_destroy(&h->stop_cond);
        pthread_mutex_destroy(&h->conns_lock);
        pthread_mutex_destroy(&h->lock);
        free(h);
        return err_set(err, ERR_IO, "cannot start the HTTP server on '%s'", addr);
    }
    *out = h;
    return 0;
}

void httpd_stop(struct httpd *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->conns_lock);
    h->stopping = true;
    pthread_cond_signal(&h->stop_cond);
    pthread_mutex_unlock(&h->conns_lock);
    pthread_join(h->reaper, NULL);
    /* Joins the server thread, closes the listening socket we gave it and every connection. */
    MHD_stop_daemon(h->daemon);
    pthread_cond_destroy(&h->stop_cond);
    pthread_mutex_destroy(&h->conns_lock);
    for (size_t i = 0; i < h->nroutes; i++) {
        free(h->routes[i].path);
        free(h->routes[i].content_type);
        free(h->routes[i].body);
    }
    free(h->routes);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

int httpd_port(const struct httpd *h)
{
    return h->port;
}

const char *httpd_authority(const struct httpd *h)
{
    return h->authority;
}

void httpd_publish(struct httpd *h, const char *path, const char *content_type, const char *body,
                   size_t len)
{
    /* Copy outside the lock: the server thread waits only for a swap. */
    char *copy = xmemdup(body, len);
    char *ctype = xstrdup(content_type);
    pthread_mutex_lock(&h->lock);
    struct route *rt = find_route(h, path);
    if (!rt) {
        h->routes = xgrow(h->routes, &h->cap, h->nroutes + 1, sizeof(*h->routes));
        rt = &h->routes[h->nroutes++];
        rt->path = xstrdup(path);
        rt->content_type = NULL;
        rt->body = NULL;
    }
    char *old_body = rt->body, *old_ctype = rt->content_type;
    rt->body = copy;
    rt->len = len;
    rt->content_type = ctype;
    pthread_mutex_unlock(&h->lock);
    free(old_body);
    free(old_ctype);
}

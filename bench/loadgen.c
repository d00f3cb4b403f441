/*
 * loadgen: the HTTP/1.1 load generator of the benchmarks, in two modes. Both are open-loop (the
 * wrk2 model): request k is *due* at t0 + k / rate, and its latency is measured from then to the
 * last byte of its response, so any wait (in the proxy, in the kernel, or for a connection still
 * busy with a slow response) counts, and a slow response cannot hide the requests behind it
 * (coordinated omission). One thread, epoll_pwait2 for the schedule. Only loopback targets.
 *
 * Why not h2load --rps: h2load starts every client's rate timer at the same instant with the
 * same period, so requests leave in bursts of -c at a time and the proxy sees a queue that real
 * traffic would not build, and a request that waits for its connection is timed from when it
 * was finally written. See docs/performance.md.
 *
 * Fixed mode (the default; bench/run's latency test, bench/tail-trace): -c keep-alive
 * connections opened up front, request k on connection k mod c, one in flight per connection,
 * no pipelining; the first -w seconds are not measured. Latencies of 2xx responses only.
 *
 *   loadgen -p PORT -r RATE [-a 127.0.0.1] [-c 50] [-d 10] [-w 2] [-g US] [-o FILE] [-t FILE]
 *
 * -g: wake at most once per US microseconds and send everything due (default 0). Prints one
 * JSON object on stdout; -o writes each measured latency in nanoseconds, one a line; -t writes
 * "done latency" per measured request in completion order, both in nanoseconds, done on
 * CLOCK_MONOTONIC (what bench/tail-trace lines up with a kernel trace).
 *
 * Open mode (-m or -f; bench/overload): a due request goes out at once on an idle keep-alive
 * connection of its flow or on a new one (up to the flow's connections), so slow responses
 * never slow the arrivals down; only when all of them are busy does it wait here, and that wait
 * counts. Every request is recorded with its status, and one with no answer within -T seconds
 * of being due is a timeout.
 *
 *   loadgen -m MAXCONNS -p PORT -r RATE -d SECONDS [-a 127.0.0.1] [-T 35] [-S DELAY] -o FILE
 *   loadgen -f FLOW [-f FLOW ...] -p PORT -d SECONDS [-a 127.0.0.1] [-T 35] [-S DELAY] -o FILE
 *
 * Without -f there is one flow: path /, -r req/s on up to -m connections. A FLOW is
 * SOURCE,PATH,RATE,CONNECTIONS[,retry]: requests for PATH at RATE req/s on up to CONNECTIONS
 * connections bound to the local address SOURCE (so that a proxy tells clients apart by their
 * address; "-" for any), and with "retry", every answer that is not 2xx, every failed
 * connection and every timeout is sent again at once, as a new request (a client retrying in a
 * tight loop), until the schedule ends. Each flow's schedule is offset by a fraction of its
 * interval so that flows of one rate do not send in step. -S: the schedule starts DELAY seconds
 * after start-up.
 *
 * FILE gets one line per request (retries included):
 *     due_ns start_ns done_ns status flags flow attempt
 * on CLOCK_MONOTONIC (start: when it was written; done: its last byte, or when it failed); a
 * retry is due when the answer it repeats ended. status: the HTTP status, 0 for a connection
 * that failed or closed before the response ended, -1 for no response within -T seconds of
 * being due, -2 for never sent (the flow's connections all busy until the end); flags:
 * 1 = a Retry-After field, 2 = x-sluice-error: overloaded, 4 = x-sluice-error: rate_limited;
 * flow: its -f index (0 without -f); attempt: 0, or how many tries went before this one.
 * Prints one JSON object of totals on stdout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define BUF_SIZE 16384
#define MAX_FIXED_CONNS 4096
#define MAX_OPEN_CONNS 16000
#define MAX_FLOWS 256

/* ------------------------------------------------------------------ shared: time, sockets */

static const char *addr = "127.0.0.1";
static int port = 0;
static double rate = 0, duration = 0;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
    exit(2);
}

static int loopback(const char *a) {
    struct in_addr ia;
    return inet_pton(AF_INET, a, &ia) == 1 && (ntohl(ia.s_addr) >> 24) == 127;
}

/* A non-blocking TCP socket with TCP_NODELAY, bound to source (when given) before it connects:
 * IP_BIND_ADDRESS_NO_PORT leaves the port to connect, so each source address has the whole
 * ephemeral range. Returns the connect's result (0, or -1 with errno; EINPROGRESS is usual). */
static int connect_to(int *fd_out, const struct sockaddr_in *source) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (source) {
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(fd, (const struct sockaddr *)source, sizeof *source) < 0) die("bind to the source address");
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, addr, &sa.sin_addr);
    *fd_out = fd;
    return connect(fd, (struct sockaddr *)&sa, sizeof sa);
}

static int write_some(int fd, const char *request, size_t len, size_t *off) {
    while (*off < len) {
        ssize_t n = write(fd, request + *off, len - *off);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) return 0;
            return -1;
        }
        *off += (size_t)n;
    }
    return 0;
}

/* ------------------------------------------------------------------ shared: the response parser */

#define F_RETRY_AFTER 1
#define F_OVERLOADED 2
#define F_RATE_LIMITED 4

enum pstate { P_HEAD, P_BODY_LENGTH, P_UNTIL_CLOSE, P_CHUNK_SIZE, P_CHUNK_DATA, P_CHUNK_CRLF, P_TRAILER };

struct response {
    char buf[BUF_SIZE];
    size_t blen;
    enum pstate ps;
    long long remaining; /* body bytes (or chunk bytes) still expected */
    int status, flags, close_after;
};

static void response_reset(struct response *p) {
    p->blen = 0;
    p->ps = P_HEAD;
    p->status = p->flags = p->close_after = 0;
}

/* "\r\nname:" with value (case-insensitive) within that line, or any value when value is NULL */
static int header_has(const char *head, size_t len, const char *name, const char *value) {
    size_t nl = strlen(name);
    for (size_t i = 0; i + 2 + nl < len; i++) {
        if (head[i] == '\r' && head[i + 1] == '\n' && strncasecmp(head + i + 2, name, nl) == 0 &&
            head[i + 2 + nl] == ':') {
            const char *v = head + i + 3 + nl;
            const char *eol = memmem(v, len - (size_t)(v - head), "\r\n", 2);
            size_t vl = eol ? (size_t)(eol - v) : len - (size_t)(v - head);
            if (value == NULL) return 1;
            size_t wl = strlen(value);
            for (size_t j = 0; j + wl <= vl; j++)
                if (strncasecmp(v + j, value, wl) == 0) return 1;
        }
    }
    return 0;
}

static long long header_number(const char *head, size_t len, const char *name) {
    size_t nl = strlen(name);
    for (size_t i = 0; i + 2 + nl < len; i++)
        if (head[i] == '\r' && head[i + 1] == '\n' && strncasecmp(head + i + 2, name, nl) == 0 &&
            head[i + 2 + nl] == ':')
            return strtoll(head + i + 3 + nl, NULL, 10);
    return -1;
}

static void consume(struct response *p, size_t n) {
    memmove(p->buf, p->buf + n, p->blen - n);
    p->blen -= n;
}

/* Consumes the bytes in p->buf: 1 when a whole response was read, 0 when more is needed, -1 on
 * a malformed response. A response without a length is read until the connection closes. */
static int parse(struct response *p) {
    for (;;) {
        switch (p->ps) {
        case P_HEAD: {
            char *end = memmem(p->buf, p->blen, "\r\n\r\n", 4);
            if (!end) return p->blen >= BUF_SIZE ? -1 : 0;
            size_t hlen = (size_t)(end - p->buf) + 4;
            if (p->blen < 12 || strncmp(p->buf, "HTTP/1.", 7) != 0) return -1;
            p->status = atoi(p->buf + 9);
            p->close_after = header_has(p->buf, hlen, "connection", "close") || p->buf[7] == '0';
            if (header_has(p->buf, hlen, "retry-after", NULL)) p->flags |= F_RETRY_AFTER;
            if (header_has(p->buf, hlen, "x-sluice-error", "overloaded")) p->flags |= F_OVERLOADED;
            if (header_has(p->buf, hlen, "x-sluice-error", "rate_limited")) p->flags |= F_RATE_LIMITED;
            long long cl = header_number(p->buf, hlen, "content-length");
            if (header_has(p->buf, hlen, "transfer-encoding", "chunked")) {
                p->ps = P_CHUNK_SIZE;
            } else if (cl >= 0 || p->status == 204 || p->status == 304) {
                p->remaining = cl > 0 ? cl : 0;
                p->ps = P_BODY_LENGTH;
            } else {
                p->ps = P_UNTIL_CLOSE;
                p->close_after = 1;
            }
            consume(p, hlen);
            break;
        }
        case P_BODY_LENGTH: {
            size_t take = p->blen < (size_t)p->remaining ? p->blen : (size_t)p->remaining;
            consume(p, take);
            p->remaining -= (long long)take;
            return p->remaining > 0 ? 0 : 1;
        }
        case P_UNTIL_CLOSE:
            p->blen = 0;
            return 0;
        case P_CHUNK_SIZE: {
            char *eol = memmem(p->buf, p->blen, "\r\n", 2);
            if (!eol) return p->blen >= BUF_SIZE ? -1 : 0;
            p->remaining = strtoll(p->buf, NULL, 16);
            consume(p, (size_t)(eol - p->buf) + 2);
            p->ps = p->remaining == 0 ? P_TRAILER : P_CHUNK_DATA;
            break;
        }
        case P_CHUNK_DATA: {
            size_t take = p->blen < (size_t)p->remaining ? p->blen : (size_t)p->remaining;
            consume(p, take);
            p->remaining -= (long long)take;
            if (p->remaining > 0) return 0;
            p->ps = P_CHUNK_CRLF;
            break;
        }
        case P_CHUNK_CRLF:
            if (p->blen < 2) return 0;
            consume(p, 2);
            p->ps = P_CHUNK_SIZE;
            break;
        case P_TRAILER: {
            /* no trailers expected: the last chunk is followed by an empty line */
            char *eol = memmem(p->buf, p->blen, "\r\n", 2);
            if (!eol) return 0;
            size_t l = (size_t)(eol - p->buf) + 2;
            consume(p, l);
            if (l == 2) return 1;
            break;
        }
        }
    }
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, size_t n, double q) {
    if (n == 0) return 0;
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return (double)v[i] / 1000.0;
}

/* ------------------------------------------------------------------ fixed mode */

struct fixed_conn {
    int fd;
    /* ring of due times (ns) of requests assigned to this connection, not yet sent */
    uint64_t *queue;
    size_t qhead, qlen, qcap;
    int busy;                 /* a request is in flight */
    uint64_t inflight_due;
    uint64_t inflight_start;  /* what its latency is measured from (see fixed_start_next) */
    uint64_t free_at;         /* when the previous response on this connection ended */
    size_t wr_off;            /* bytes of the request already written */
    struct response resp;
};

static int nconns = 50;
static double warmup = 2;
static const char *outpath = NULL;
static const char *timelinepath = NULL;
static uint64_t granularity = 0; /* ns */
static char fixed_request[512];
static size_t fixed_request_len;

static uint64_t *lat, *tdone; /* with -t: when each measured request ended, beside lat */
static size_t nlat, latcap;
/* how late this program itself wrote requests whose connection was free: its own jitter */
static uint64_t *lag;
static size_t nlag, lagcap;
static uint64_t sent, completed, measured_completed, non2xx, errors, reconnects;
static uint64_t window_start, window_end;

/* Connected before it is used, as the schedule assumes every connection ready from t0. */
static int open_fixed_conn(void) {
    int fd, err = 0;
    socklen_t len = sizeof err;
    if (connect_to(&fd, NULL) < 0) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        if (errno != EINPROGRESS || poll(&pfd, 1, 5000) != 1) die("connect");
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) { errno = err; die("connect"); }
    }
    return fd;
}

static void push_due(struct fixed_conn *c, uint64_t t) {
    if (c->qlen == c->qcap) {
        size_t ncap = c->qcap ? c->qcap * 2 : 64;
        uint64_t *nq = malloc(ncap * sizeof *nq);
        if (!nq) die("malloc");
        for (size_t i = 0; i < c->qlen; i++) nq[i] = c->queue[(c->qhead + i) % c->qcap];
        free(c->queue);
        c->queue = nq;
        c->qcap = ncap;
        c->qhead = 0;
    }
    c->queue[(c->qhead + c->qlen) % c->qcap] = t;
    c->qlen++;
}

static void record(uint64_t due, uint64_t start, uint64_t done) {
    if (due < window_start || due >= window_end) return;
    measured_completed++;
    if (nlat == latcap) {
        latcap = latcap ? latcap * 2 : 1 << 16;
        lat = realloc(lat, latcap * sizeof *lat);
        if (!lat) die("realloc");
        if (timelinepath && !(tdone = realloc(tdone, latcap * sizeof *tdone))) die("realloc");
    }
    if (timelinepath) tdone[nlat] = done;
    lat[nlat++] = done - start;
}

static int fixed_flush(struct fixed_conn *c) {
    return write_some(c->fd, fixed_request, fixed_request_len, &c->wr_off);
}

static int fixed_start_next(struct fixed_conn *c, uint64_t now) {
    if (c->busy || c->qlen == 0 || c->queue[c->qhead] > now) return 0;
    c->inflight_due = c->queue[c->qhead];
    /* Busy when it was due: the wait for the previous (slow) response is the server's and
     * counts. Free when it was due: any delay is this program's own scheduling, which says
     * nothing about the server, so the clock starts when the request is written. */
    c->inflight_start = c->inflight_due < c->free_at ? c->inflight_due : now;
    c->qhead = (c->qhead + 1) % c->qcap;
    c->qlen--;
    if (c->inflight_due >= c->free_at && c->inflight_due >= window_start && c->inflight_due < window_end) {
        if (nlag == lagcap) {
            lagcap = lagcap ? lagcap * 2 : 1 << 16;
            lag = realloc(lag, lagcap * sizeof *lag);
            if (!lag) die("realloc");
        }
        lag[nlag++] = now - c->inflight_due;
    }
    c->busy = 1;
    c->wr_off = 0;
    response_reset(&c->resp);
    sent++;
    return fixed_flush(c);
}

static void fixed_reconnect(int ep, struct fixed_conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = open_fixed_conn();
    c->busy = 0;
    c->resp.blen = 0;
    reconnects++;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
    /* requests queued behind the failed one go out on the new connection; a write error here
     * shows up as a read error on the next event */
    fixed_start_next(c, now_ns());
}

static int run_fixed(void) {
    fixed_request_len = (size_t)snprintf(fixed_request, sizeof fixed_request,
                                         "GET / HTTP/1.1\r\nHost: %s:%d\r\n\r\n", addr, port);
    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    struct fixed_conn *conns = calloc((size_t)nconns, sizeof *conns);
    if (!conns) die("calloc");
    for (int i = 0; i < nconns; i++) {
        conns[i].fd = open_fixed_conn();
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = &conns[i]};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) < 0) die("epoll_ctl");
    }

    const double interval = 1e9 / rate;
    const uint64_t t0 = now_ns() + 1000000; /* 1 ms to settle */
    window_start = t0 + (uint64_t)(warmup * 1e9);
    window_end = window_start + (uint64_t)(duration * 1e9);
    /* after the schedule ends, wait this long for stragglers; they count as unfinished */
    const uint64_t hard_end = window_end + 2000000000ull;
    uint64_t k = 0;
    struct epoll_event events[256];

    for (;;) {
        uint64_t now = now_ns();
        /* hand every request that is due to its connection */
        for (;;) {
            uint64_t t = t0 + (uint64_t)((double)k * interval);
            if (t > now || t >= window_end) break;
            struct fixed_conn *c = &conns[k % (uint64_t)nconns];
            push_due(c, t);
            if (fixed_start_next(c, now) < 0) { errors++; fixed_reconnect(ep, c); }
            k++;
        }
        uint64_t next = t0 + (uint64_t)((double)k * interval);
        int outstanding = 0;
        for (int i = 0; i < nconns && !outstanding; i++) outstanding = conns[i].busy || conns[i].qlen;
        if (next >= window_end && (!outstanding || now >= hard_end)) break;

        /* sleep until the next request is due (never less than the granularity, which bounds
         * wake-ups per second: each one costs a VM exit or two on a virtual machine) */
        uint64_t wake = next < window_end ? next : hard_end;
        uint64_t wait = wake > now ? wake - now : 0;
        if (wait < granularity) wait = granularity;
        struct timespec ts = {.tv_sec = (time_t)(wait / 1000000000ull), .tv_nsec = (long)(wait % 1000000000ull)};
        int n = epoll_pwait2(ep, events, 256, &ts, NULL);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            struct fixed_conn *c = events[i].data.ptr;
            if (events[i].events & EPOLLOUT && c->busy && fixed_flush(c) < 0) {
                errors++;
                fixed_reconnect(ep, c);
                continue;
            }
            if (!(events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
            for (;;) {
                struct response *p = &c->resp;
                ssize_t r = read(c->fd, p->buf + p->blen, BUF_SIZE - p->blen);
                if (r < 0 && (errno == EAGAIN || errno == EINTR)) break;
                if (r <= 0) { /* closed or reset: the request in flight failed */
                    if (c->busy) errors++;
                    fixed_reconnect(ep, c);
                    break;
                }
                p->blen += (size_t)r;
                int done = c->busy ? parse(p) : -1;
                if (done < 0) { errors++; fixed_reconnect(ep, c); break; }
                if (done == 1) {
                    uint64_t t = now_ns();
                    int close_after = p->close_after;
                    completed++;
                    if (p->status < 200 || p->status > 299) non2xx++;
                    else record(c->inflight_due, c->inflight_start, t);
                    c->busy = 0;
                    c->free_at = t;
                    if (close_after) fixed_reconnect(ep, c);
                    if (fixed_start_next(c, t) < 0) { errors++; fixed_reconnect(ep, c); }
                    if (close_after) break;
                }
            }
        }
    }

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
                   ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
    uint64_t unfinished = 0;
    for (int i = 0; i < nconns; i++) unfinished += (uint64_t)conns[i].busy + conns[i].qlen;
    if (timelinepath) { /* before the sort below reorders lat */
        FILE *f = fopen(timelinepath, "w");
        if (!f) die("fopen");
        for (size_t i = 0; i < nlat; i++)
            fprintf(f, "%llu %llu\n", (unsigned long long)tdone[i], (unsigned long long)lat[i]);
        fclose(f);
    }
    qsort(lat, nlat, sizeof *lat, cmp_u64);
    qsort(lag, nlag, sizeof *lag, cmp_u64);
    if (outpath) {
        FILE *f = fopen(outpath, "w");
        if (!f) die("fopen");
        for (size_t i = 0; i < nlat; i++) fprintf(f, "%llu\n", (unsigned long long)lat[i]);
        fclose(f);
    }
    printf("{\"tool\": \"loadgen\", \"target_rate\": %.1f, \"connections\": %d, \"duration_s\": %.3f, "
           "\"sent\": %llu, \"completed\": %llu, \"measured\": %zu, \"achieved_rate\": %.1f, "
           "\"non2xx\": %llu, \"errors\": %llu, \"reconnects\": %llu, \"unfinished\": %llu, "
           "\"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, \"p999_us\": %.1f, \"max_us\": %.1f, "
           "\"send_lag_p50_us\": %.1f, \"send_lag_p99_us\": %.1f, \"cpu_s\": %.3f}\n",
           rate, nconns, duration, (unsigned long long)sent, (unsigned long long)completed, nlat,
           (double)measured_completed / duration, (unsigned long long)non2xx,
           (unsigned long long)errors, (unsigned long long)reconnects,
           (unsigned long long)unfinished, pct(lat, nlat, 0.50), pct(lat, nlat, 0.90),
           pct(lat, nlat, 0.99), pct(lat, nlat, 0.999), nlat ? (double)lat[nlat - 1] / 1000.0 : 0.0,
           pct(lag, nlag, 0.50), pct(lag, nlag, 0.99), cpu_s);
    return 0;
}

/* ------------------------------------------------------------------ open mode */

#define ST_PENDING (-3) /* a request not yet answered */

enum cstate { C_UNUSED, C_CONNECTING, C_IDLE, C_BUSY };

struct req {
    uint64_t due, start, done;
    int status, flags;
    int flow, attempt;
};

struct open_conn {
    int fd;
    int flow;
    enum cstate st;
    long req;               /* index of the request in flight, -1 when none */
    size_t wr_off;
    int in_idle;            /* has an entry in its flow's idle stack (perhaps stale: checked when popped) */
    struct response resp;
};

/* due requests waiting for a connection: a ring that grows; retries go in at the front */
struct deque {
    long *v;
    long head, len, cap;
};

struct flow {
    struct sockaddr_in source;
    int bound;
    char path[200];
    char request[512];
    size_t request_len;
    double rate;
    int maxconns, retry;
    long first, n, k;       /* its scheduled requests are reqs[first .. first+n); k: next to go */
    int base;               /* its connection slots are conns[base .. base+maxconns) */
    int *idle, nidle;       /* idle connections, most recently used on top */
    int *unused, nunused;   /* slots with no socket */
    struct deque pending;
    long opened, peak_open, open_now, conn_failures, retries;
};

static int maxconns_opt = 0;
static double timeout_s = 35, start_delay = 0;
static const char *flow_specs[MAX_FLOWS];
static int nflows;
static struct flow flows[MAX_FLOWS];
static struct req *reqs;
static long nreqs, reqcap;
static struct open_conn *conns;
static int total_conns;
static int ep;
static uint64_t schedule_end;

static void dq_push(struct deque *d, long r, int front) {
    if (d->len == d->cap) {
        long ncap = d->cap ? d->cap * 2 : 1024;
        long *nv = malloc((size_t)ncap * sizeof *nv);
        if (!nv) die("malloc");
        for (long i = 0; i < d->len; i++) nv[i] = d->v[(d->head + i) % d->cap];
        free(d->v);
        d->v = nv;
        d->cap = ncap;
        d->head = 0;
    }
    if (front) {
        d->head = (d->head + d->cap - 1) % d->cap;
        d->v[d->head] = r;
    } else {
        d->v[(d->head + d->len) % d->cap] = r;
    }
    d->len++;
}

static long dq_pop(struct deque *d) {
    long r = d->v[d->head];
    d->head = (d->head + 1) % d->cap;
    d->len--;
    return r;
}

/* The oldest waiting request still unanswered (one may have timed out while it waited), or -1. */
static long next_waiting(struct flow *f) {
    while (f->pending.len > 0) {
        long r = dq_pop(&f->pending);
        if (reqs[r].status == ST_PENDING) return r;
    }
    return -1;
}

static long new_request(int flow, uint64_t due, int attempt) {
    if (nreqs == reqcap) {
        reqcap = reqcap ? reqcap * 2 : 1 << 16;
        reqs = realloc(reqs, (size_t)reqcap * sizeof *reqs);
        if (!reqs) die("realloc");
    }
    reqs[nreqs] = (struct req){.due = due, .status = ST_PENDING, .flow = flow, .attempt = attempt};
    return nreqs++;
}

static void close_conn(struct open_conn *c) {
    struct flow *f = &flows[c->flow];
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->st = C_UNUSED;
    c->req = -1;
    f->open_now--;
    f->unused[f->nunused++] = (int)(c - conns);
}

/* The request in flight on c ends with status; with a retrying flow, an answer that is not 2xx
 * is followed at once by a new request (the front of the flow's queue), until the schedule ends. */
static void finish(struct open_conn *c, int status, uint64_t t) {
    long r = c->req;
    if (r < 0) return;
    c->req = -1;
    reqs[r].status = status;
    reqs[r].flags = c->resp.flags;
    reqs[r].done = t;
    struct flow *f = &flows[c->flow];
    if (f->retry && (status < 200 || status > 299) && t < schedule_end) {
        int attempt = reqs[r].attempt + 1;
        dq_push(&f->pending, new_request(c->flow, t, attempt), 1);
        f->retries++;
    }
}

static int open_flush(struct open_conn *c) {
    struct flow *f = &flows[c->flow];
    return write_some(c->fd, f->request, f->request_len, &c->wr_off);
}

/* Writes request r on c; a connection that fails here is closed (its slot goes back to the
 * flow; the main loop gives it to whatever waits). */
static void begin(struct open_conn *c, long r, uint64_t t) {
    c->req = r;
    c->st = C_BUSY;
    c->wr_off = 0;
    response_reset(&c->resp);
    reqs[r].start = t;
    if (open_flush(c) < 0) {
        flows[c->flow].conn_failures++;
        finish(c, 0, t);
        close_conn(c);
    }
}

/* Opens a connection of flow f for request r; returns 0, or -1 when the flow has no slot left. */
static int open_for(struct flow *f, long r, uint64_t t) {
    if (f->nunused == 0) return -1;
    struct open_conn *c = &conns[f->unused[--f->nunused]];
    int fd;
    int rc = connect_to(&fd, f->bound ? &f->source : NULL);
    c->fd = fd;
    c->req = r;
    c->resp.flags = 0;
    reqs[r].start = t;
    f->open_now++;
    f->opened++;
    if (f->open_now > f->peak_open) f->peak_open = f->open_now;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
    c->st = C_CONNECTING;
    if (rc < 0 && errno != EINPROGRESS) {
        f->conn_failures++;
        finish(c, 0, t);
        close_conn(c);
    }
    return 0;
}

/* A due request: an idle connection of its flow, else a new one, else the flow's queue. */
static void dispatch(struct flow *f, long r, uint64_t t) {
    while (f->nidle > 0) {
        struct open_conn *c = &conns[f->idle[--f->nidle]];
        c->in_idle = 0;
        if (c->st == C_IDLE) {
            begin(c, r, t);
            return;
        }
    }
    if (open_for(f, r, t) == 0) return;
    dq_push(&f->pending, r, 0);
}

/* c has just become idle: it takes the flow's next waiting request, or waits on the idle stack. */
static void reuse(struct open_conn *c, uint64_t t) {
    struct flow *f = &flows[c->flow];
    long r = next_waiting(f);
    if (r >= 0) {
        begin(c, r, t);
    } else if (!c->in_idle) {
        c->in_idle = 1;
        f->idle[f->nidle++] = (int)(c - conns);
    }
}

/* Free slots go to waiting requests (after a connection closed, or a retry was queued). */
static void fill_slots(uint64_t t) {
    for (int i = 0; i < nflows; i++) {
        struct flow *f = &flows[i];
        while (f->pending.len > 0) {
            while (f->nidle > 0 && conns[f->idle[f->nidle - 1]].st != C_IDLE) {
                conns[f->idle[f->nidle - 1]].in_idle = 0;
                f->nidle--;
            }
            if (f->nidle == 0 && f->nunused == 0) break;
            long r = next_waiting(f);
            if (r < 0) break;
            dispatch(f, r, t);
        }
    }
}

static void on_event(struct open_conn *c, uint32_t events, uint64_t t) {
    if (c->st == C_UNUSED) return;
    struct flow *f = &flows[c->flow];
    if (c->st == C_CONNECTING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            f->conn_failures++;
            finish(c, 0, t);
            close_conn(c);
            return;
        }
        begin(c, c->req, t);
        if (c->st == C_UNUSED) return;
    }
    if (c->st == C_BUSY && (events & EPOLLOUT) && open_flush(c) < 0) {
        finish(c, 0, t);
        close_conn(c);
        return;
    }
    if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
    for (;;) {
        struct response *p = &c->resp;
        ssize_t n = read(c->fd, p->buf + p->blen, BUF_SIZE - p->blen);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (n <= 0) {
            /* closed: the end of a response read until the close, or a failure */
            if (c->st == C_BUSY) finish(c, (p->ps == P_UNTIL_CLOSE && n == 0) ? p->status : 0, t);
            close_conn(c);
            return;
        }
        p->blen += (size_t)n;
        if (c->st != C_BUSY) { /* bytes nobody asked for */
            close_conn(c);
            return;
        }
        int done = parse(p);
        if (done < 0) {
            finish(c, 0, t);
            close_conn(c);
            return;
        }
        if (done == 1) {
            int close_after = p->close_after;
            finish(c, p->status, t);
            if (close_after) {
                close_conn(c);
                return;
            }
            c->st = C_IDLE;
            reuse(c, t);
            if (c->st != C_BUSY) return; /* idle: wait for the next event */
        }
    }
}

static void expire(uint64_t t) {
    uint64_t limit = (uint64_t)(timeout_s * 1e9);
    for (int i = 0; i < total_conns; i++) {
        struct open_conn *c = &conns[i];
        if ((c->st == C_BUSY || c->st == C_CONNECTING) && c->req >= 0 && t - reqs[c->req].due > limit) {
            finish(c, -1, t);
            close_conn(c);
        }
    }
    for (int i = 0; i < nflows; i++) {
        struct deque *d = &flows[i].pending;
        while (d->len > 0) {
            long r = d->v[d->head];
            if (reqs[r].status == ST_PENDING && t - reqs[r].due <= limit) break;
            dq_pop(d);
            if (reqs[r].status == ST_PENDING) { reqs[r].status = -1; reqs[r].done = t; }
        }
    }
}

/* SOURCE,PATH,RATE,CONNECTIONS[,retry] */
static int parse_flow(const char *spec, struct flow *f) {
    char copy[400], *parts[5];
    int n = 0;
    if (strlen(spec) >= sizeof copy) return -1;
    strcpy(copy, spec);
    for (char *s = strtok(copy, ","); s && n < 5; s = strtok(NULL, ",")) parts[n++] = s;
    if (n < 4 || (n == 5 && strcmp(parts[4], "retry") != 0)) return -1;
    if (strcmp(parts[0], "-") != 0) {
        if (!loopback(parts[0])) return -1;
        f->source = (struct sockaddr_in){.sin_family = AF_INET};
        inet_pton(AF_INET, parts[0], &f->source.sin_addr);
        f->bound = 1;
    }
    if (parts[1][0] != '/' || strlen(parts[1]) >= sizeof f->path) return -1;
    strcpy(f->path, parts[1]);
    f->rate = atof(parts[2]);
    f->maxconns = atoi(parts[3]);
    f->retry = n == 5;
    return f->rate > 0 && f->maxconns >= 1 ? 0 : -1;
}

static int run_open(void) {
    if (nflows == 0) { /* bench/overload: one flow, from -r and -m */
        flows[0] = (struct flow){.rate = rate, .maxconns = maxconns_opt};
        strcpy(flows[0].path, "/");
        nflows = 1;
    }
    for (int i = 0; i < nflows; i++) {
        struct flow *f = &flows[i];
        if (nflows > 1 || flow_specs[0]) {
            if (parse_flow(flow_specs[i], f) < 0) {
                fprintf(stderr, "loadgen: bad flow %s: want SOURCE,PATH,RATE,CONNECTIONS[,retry] with a 127.x.x.x "
                                "source (or -), a path from /, RATE > 0 and CONNECTIONS >= 1\n", flow_specs[i]);
                return 2;
            }
        }
        f->base = total_conns;
        total_conns += f->maxconns;
        f->request_len = (size_t)snprintf(f->request, sizeof f->request, "GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n",
                                          f->path, addr, port);
    }
    if (total_conns > MAX_OPEN_CONNS) {
        fprintf(stderr, "loadgen: at most %d connections in all\n", MAX_OPEN_CONNS);
        return 2;
    }
    conns = calloc((size_t)total_conns, sizeof *conns);
    if (!conns) die("calloc");
    for (int i = 0; i < nflows; i++) {
        struct flow *f = &flows[i];
        f->idle = calloc((size_t)f->maxconns, sizeof *f->idle);
        f->unused = calloc((size_t)f->maxconns, sizeof *f->unused);
        if (!f->idle || !f->unused) die("calloc");
        for (int j = f->maxconns - 1; j >= 0; j--) {
            conns[f->base + j] = (struct open_conn){.fd = -1, .flow = i, .req = -1};
            f->unused[f->nunused++] = f->base + j;
        }
    }
    ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");

    const uint64_t t0 = now_ns() + 1000000 + (uint64_t)(start_delay * 1e9);
    schedule_end = t0 + (uint64_t)(duration * 1e9);
    const uint64_t hard_end = schedule_end + (uint64_t)((timeout_s + 1) * 1e9);
    for (int i = 0; i < nflows; i++) {
        struct flow *f = &flows[i];
        double interval = 1e9 / f->rate;
        /* flow i starts a golden-ratio fraction of its interval in: flows of one rate interleave */
        double phase = (double)i * 0.6180339887;
        phase = (phase - (double)(long)phase) * interval;
        f->first = nreqs;
        f->n = (long)(f->rate * duration);
        if (f->n < 1) f->n = 1;
        for (long j = 0; j < f->n; j++) new_request(i, t0 + (uint64_t)(phase + (double)j * interval), 0);
    }
    uint64_t last_expire = t0;
    struct epoll_event events[512];
    for (;;) {
        uint64_t t = now_ns();
        uint64_t wake = t + 10000000ull;
        int scheduled = 0;
        for (int i = 0; i < nflows; i++) {
            struct flow *f = &flows[i];
            while (f->k < f->n && reqs[f->first + f->k].due <= t) {
                dispatch(f, f->first + f->k, t);
                f->k++;
            }
            if (f->k < f->n) {
                scheduled = 1;
                if (reqs[f->first + f->k].due < wake) wake = reqs[f->first + f->k].due;
            }
        }
        fill_slots(t);
        if (t - last_expire > 10000000ull) { expire(t); last_expire = t; }
        if (!scheduled) {
            /* done when no request is in flight or waiting (idle connections do not count) */
            int outstanding = 0;
            for (int i = 0; i < nflows && !outstanding; i++) outstanding = flows[i].pending.len > 0;
            for (int i = 0; i < total_conns && !outstanding; i++)
                outstanding = conns[i].st == C_BUSY || conns[i].st == C_CONNECTING;
            if (!outstanding || t >= hard_end) break;
        }
        for (int i = 0; i < nflows; i++) /* a retry queued while a slot is free goes at once */
            if (flows[i].pending.len > 0 && flows[i].nunused > 0) wake = t;
        uint64_t wait = wake > t ? wake - t : 0;
        struct timespec ts = {.tv_sec = (time_t)(wait / 1000000000ull), .tv_nsec = (long)(wait % 1000000000ull)};
        int n = epoll_pwait2(ep, events, 512, &ts, NULL);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        t = now_ns();
        for (int i = 0; i < n; i++) on_event(events[i].data.ptr, events[i].events, t);
    }
    uint64_t t = now_ns();
    for (int i = 0; i < total_conns; i++)
        if (conns[i].st == C_BUSY || conns[i].st == C_CONNECTING) {
            struct flow *f = &flows[conns[i].flow];
            int retry = f->retry;
            f->retry = 0; /* the run is over: nothing more is sent */
            finish(&conns[i], -1, t);
            f->retry = retry;
        }

    long by[6] = {0}; /* 2xx, 503, 502, 504, other status */
    long failed = 0, timeouts = 0, unsent = 0;
    long opened = 0, peak = 0, conn_failures = 0, retries = 0;
    FILE *f = fopen(outpath, "w");
    if (!f) die("fopen");
    for (long i = 0; i < nreqs; i++) {
        struct req *r = &reqs[i];
        if (r->status == ST_PENDING) { r->status = -2; r->done = t; }
        if (r->status == -2) unsent++;
        else if (r->status == -1) timeouts++;
        else if (r->status == 0) failed++;
        else if (r->status / 100 == 2) by[0]++;
        else if (r->status == 503) by[1]++;
        else if (r->status == 502) by[2]++;
        else if (r->status == 504) by[3]++;
        else by[4]++;
        fprintf(f, "%llu %llu %llu %d %d %d %d\n", (unsigned long long)r->due, (unsigned long long)r->start,
                (unsigned long long)r->done, r->status, r->flags, r->flow, r->attempt);
    }
    fclose(f);
    for (int i = 0; i < nflows; i++) {
        opened += flows[i].opened;
        peak += flows[i].peak_open;
        conn_failures += flows[i].conn_failures;
        retries += flows[i].retries;
    }
    printf("{\"tool\": \"loadgen\", \"mode\": \"open\", \"flows\": %d, \"target_rate\": %.1f, \"duration_s\": %.3f, "
           "\"requests\": %ld, \"retries\": %ld, \"s2xx\": %ld, \"s503\": %ld, \"s502\": %ld, \"s504\": %ld, "
           "\"other_status\": %ld, \"failed\": %ld, \"timeouts\": %ld, \"unsent\": %ld, "
           "\"connections_opened\": %ld, \"peak_connections\": %ld, \"connect_failures\": %ld, \"t0_ns\": %llu}\n",
           nflows, rate, duration, nreqs, retries, by[0], by[1], by[2], by[3], by[4], failed, timeouts, unsent,
           opened, peak, conn_failures, (unsigned long long)t0);
    return 0;
}

/* ------------------------------------------------------------------ the command line */

int main(int argc, char **argv) {
    int opt;
    while ((opt = getopt(argc, argv, "a:p:c:r:d:w:o:g:t:m:T:f:S:")) != -1) {
        switch (opt) {
        case 'a': addr = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'c': nconns = atoi(optarg); break;
        case 'r': rate = atof(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 'o': outpath = optarg; break;
        case 't': timelinepath = optarg; break;
        case 'g': granularity = (uint64_t)(atof(optarg) * 1000.0); break;
        case 'm': maxconns_opt = atoi(optarg); break;
        case 'T': timeout_s = atof(optarg); break;
        case 'S': start_delay = atof(optarg); break;
        case 'f':
            if (nflows == MAX_FLOWS) { fprintf(stderr, "loadgen: at most %d flows\n", MAX_FLOWS); return 2; }
            flow_specs[nflows++] = optarg;
            break;
        default:
            fprintf(stderr, "usage: loadgen -p PORT -r RATE [-a 127.0.0.1] [-c 50] [-d 10] [-w 2] [-g US] [-o FILE] [-t FILE]\n"
                            "       loadgen -m MAXCONNS -p PORT -r RATE -d SECONDS [-a 127.0.0.1] [-T 35] [-S DELAY] -o FILE\n"
                            "       loadgen -f SOURCE,PATH,RATE,CONNECTIONS[,retry] [-f ...] -p PORT -d SECONDS [-a ...] [-T 35] [-S DELAY] -o FILE\n");
            return 2;
        }
    }
    int open_mode = maxconns_opt > 0 || nflows > 0;
    if (port <= 0 || !loopback(addr) || duration < 0) {
        fprintf(stderr, "loadgen: need -p PORT and a 127.x.x.x address\n");
        return 2;
    }
    if (!open_mode) {
        if (duration == 0) duration = 10;
        if (rate <= 0 || nconns <= 0 || nconns > MAX_FIXED_CONNS) {
            fprintf(stderr, "loadgen: need -r RATE > 0 and 1 <= -c <= %d\n", MAX_FIXED_CONNS);
            return 2;
        }
        return run_fixed();
    }
    if (duration <= 0 || !outpath || timeout_s <= 0 || start_delay < 0 ||
        (nflows == 0 && (rate <= 0 || maxconns_opt > MAX_OPEN_CONNS))) {
        fprintf(stderr, "loadgen: open mode needs -d SECONDS > 0, -o FILE, and -r RATE > 0 with "
                        "1 <= -m <= %d, or -f flows\n", MAX_OPEN_CONNS);
        return 2;
    }
    return run_open();
}

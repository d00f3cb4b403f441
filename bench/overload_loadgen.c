/*
 * overload_loadgen: the open-loop load of bench/overload. Request k is due at t0 + k / rate and
 * goes out then on any idle keep-alive connection, or on a new one (up to -m connections), so
 * slow responses never slow the arrivals down: at 1,000 req/s and responses that take a second,
 * about a thousand requests are in flight. Only when -m connections are all busy does a due
 * request wait here, and that wait counts: every latency is from when the request was due to
 * the last byte of its response (the wrk2 model, as in bench/loadgen.c).
 *
 * Unlike bench/loadgen.c (a fixed set of connections, one request in flight on each, latencies
 * of 2xx responses only), every request is recorded with its status, so the latency of 503s can
 * be told from that of 200s, and a request that gets no answer within -T seconds is a timeout.
 *
 * Usage: overload_loadgen -p PORT -r RATE -d SECONDS [-a 127.0.0.1] [-m 4000] [-T 35] -o FILE
 * FILE gets one line per request, in the order they were due:
 *     due_ns start_ns done_ns status flags
 * on CLOCK_MONOTONIC (start: when it was written; done: its last byte, or when it failed);
 * status is the HTTP status, 0 for a connection that failed or closed before the response ended,
 * -1 for no response within -T seconds of being due, -2 for never sent (all -m connections busy
 * until the end); flags: 1 = a Retry-After field, 2 = x-sluice-error: overloaded.
 * Prints one JSON object of totals on stdout. Only loopback targets are accepted.
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
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE 16384
#define MAX_CONNS 16000

enum cstate { C_UNUSED, C_CONNECTING, C_IDLE, C_BUSY };
enum pstate { P_HEAD, P_BODY_LENGTH, P_UNTIL_CLOSE, P_CHUNK_SIZE, P_CHUNK_DATA, P_CHUNK_CRLF, P_TRAILER };

struct req {
    uint64_t due, start, done;
    int status;
    int flags;
};

struct conn {
    int fd;
    enum cstate st;
    long req;               /* index of the request in flight, -1 when none */
    size_t wr_off;
    char buf[BUF_SIZE];
    size_t blen;
    enum pstate ps;
    long long remaining;
    int status, flags, close_after;
    int in_idle;            /* has an entry in idle_stack (perhaps stale: checked when popped) */
};

static const char *addr = "127.0.0.1";
static int port = 0, maxconns = 4000;
static double rate = 0, duration = 0, timeout_s = 35;
static const char *outpath = NULL;
static char request[256];
static size_t request_len;

static struct req *reqs;
static long nreqs;
static struct conn *conns;
static int *idle_stack, nidle;      /* idle connections, most recently used on top */
static int *unused_stack, nunused;  /* conn slots with no socket */
static long *pending;               /* due requests waiting for a connection (FIFO) */
static long phead, plen;
static int ep;
static long opened, peak_open, open_now, conn_failures;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "overload_loadgen: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void finish(struct conn *c, int status, uint64_t t) {
    if (c->req >= 0) {
        struct req *r = &reqs[c->req];
        r->status = status;
        r->flags = c->flags;
        r->done = t;
        c->req = -1;
    }
}

static void close_conn(struct conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->st = C_UNUSED;
    open_now--;
    unused_stack[nunused++] = (int)(c - conns);
}

static int flush_request(struct conn *c) {
    while (c->wr_off < request_len) {
        ssize_t n = write(c->fd, request + c->wr_off, request_len - c->wr_off);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) return 0;
            return -1;
        }
        c->wr_off += (size_t)n;
    }
    return 0;
}

static void begin(struct conn *c, long r, uint64_t t) {
    c->req = r;
    c->st = C_BUSY;
    c->wr_off = 0;
    c->blen = 0;
    c->ps = P_HEAD;
    c->status = c->flags = c->close_after = 0;
    reqs[r].start = t;
    if (flush_request(c) < 0) {
        conn_failures++;
        finish(c, 0, t);
        close_conn(c);
    }
}

/* Opens a connection for request r; returns 0, or -1 when no slot is left. */
static int open_for(long r, uint64_t t) {
    if (nunused == 0) return -1;
    struct conn *c = &conns[unused_stack[--nunused]];
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, addr, &sa.sin_addr);
    c->fd = fd;
    c->req = r;
    reqs[r].start = t;
    open_now++;
    opened++;
    if (open_now > peak_open) peak_open = open_now;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
        conn_failures++;
        finish(c, 0, t);
        close_conn(c);
        return 0;
    }
    c->st = C_CONNECTING;
    return 0;
}

/* A due request: an idle connection, else a new one, else the pending queue. */
static void dispatch(long r, uint64_t t) {
    while (nidle > 0) {
        struct conn *c = &conns[idle_stack[--nidle]];
        c->in_idle = 0;
        if (c->st == C_IDLE) {
            begin(c, r, t);
            return;
        }
    }
    if (open_for(r, t) == 0) return;
    pending[(phead + plen) % nreqs] = r;
    plen++;
}

/* A connection is free again (idle) or gone: give it, or its slot, to the oldest pending request. */
static void next_pending(struct conn *c, uint64_t t) {
    while (plen > 0) {
        long r = pending[phead];
        phead = (phead + 1) % nreqs;
        plen--;
        if (reqs[r].status != -3) continue; /* timed out while pending */
        if (c && c->st == C_IDLE) begin(c, r, t);
        else open_for(r, t);
        return;
    }
    if (c && c->st == C_IDLE && !c->in_idle) {
        c->in_idle = 1;
        idle_stack[nidle++] = (int)(c - conns);
    }
}

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

/* 1: a whole response was read; 0: more is needed; -1: malformed. */
static int parse(struct conn *c) {
    for (;;) {
        switch (c->ps) {
        case P_HEAD: {
            char *end = memmem(c->buf, c->blen, "\r\n\r\n", 4);
            if (!end) return c->blen >= BUF_SIZE ? -1 : 0;
            size_t hlen = (size_t)(end - c->buf) + 4;
            if (c->blen < 12 || strncmp(c->buf, "HTTP/1.", 7) != 0) return -1;
            c->status = atoi(c->buf + 9);
            c->close_after = header_has(c->buf, hlen, "connection", "close") || c->buf[7] == '0';
            if (header_has(c->buf, hlen, "retry-after", NULL)) c->flags |= 1;
            if (header_has(c->buf, hlen, "x-sluice-error", "overloaded")) c->flags |= 2;
            long long cl = header_number(c->buf, hlen, "content-length");
            if (header_has(c->buf, hlen, "transfer-encoding", "chunked")) {
                c->ps = P_CHUNK_SIZE;
            } else if (cl >= 0) {
                c->remaining = cl;
                c->ps = P_BODY_LENGTH;
            } else if (c->status == 204 || c->status == 304) {
                c->remaining = 0;
                c->ps = P_BODY_LENGTH;
            } else {
                c->ps = P_UNTIL_CLOSE;
                c->close_after = 1;
            }
            memmove(c->buf, c->buf + hlen, c->blen - hlen);
            c->blen -= hlen;
            break;
        }
        case P_BODY_LENGTH: {
            size_t take = c->blen < (size_t)c->remaining ? c->blen : (size_t)c->remaining;
            memmove(c->buf, c->buf + take, c->blen - take);
            c->blen -= take;
            c->remaining -= (long long)take;
            return c->remaining > 0 ? 0 : 1;
        }
        case P_UNTIL_CLOSE:
            c->blen = 0;
            return 0;
        case P_CHUNK_SIZE: {
            char *eol = memmem(c->buf, c->blen, "\r\n", 2);
            if (!eol) return c->blen >= BUF_SIZE ? -1 : 0;
            c->remaining = strtoll(c->buf, NULL, 16);
            size_t l = (size_t)(eol - c->buf) + 2;
            memmove(c->buf, c->buf + l, c->blen - l);
            c->blen -= l;
            c->ps = c->remaining == 0 ? P_TRAILER : P_CHUNK_DATA;
            break;
        }
        case P_CHUNK_DATA: {
            size_t take = c->blen < (size_t)c->remaining ? c->blen : (size_t)c->remaining;
            memmove(c->buf, c->buf + take, c->blen - take);
            c->blen -= take;
            c->remaining -= (long long)take;
            if (c->remaining > 0) return 0;
            c->ps = P_CHUNK_CRLF;
            break;
        }
        case P_CHUNK_CRLF:
            if (c->blen < 2) return 0;
            memmove(c->buf, c->buf + 2, c->blen - 2);
            c->blen -= 2;
            c->ps = P_CHUNK_SIZE;
            break;
        case P_TRAILER: {
            char *eol = memmem(c->buf, c->blen, "\r\n", 2);
            if (!eol) return 0;
            size_t l = (size_t)(eol - c->buf) + 2;
            memmove(c->buf, c->buf + l, c->blen - l);
            c->blen -= l;
            if (l == 2) return 1;
            break;
        }
        }
    }
}

static void on_event(struct conn *c, uint32_t events, uint64_t t) {
    if (c->st == C_UNUSED) return;
    if (c->st == C_CONNECTING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            conn_failures++;
            finish(c, 0, t);
            close_conn(c);
            next_pending(NULL, t);
            return;
        }
        long r = c->req;
        begin(c, r, t);
        if (c->st == C_UNUSED) { next_pending(NULL, t); return; }
    }
    if (c->st == C_BUSY && (events & EPOLLOUT) && flush_request(c) < 0) {
        finish(c, 0, t);
        close_conn(c);
        next_pending(NULL, t);
        return;
    }
    if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
    for (;;) {
        ssize_t n = read(c->fd, c->buf + c->blen, BUF_SIZE - c->blen);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (n <= 0) {
            /* closed: the end of a response read until the close, or a failure */
            if (c->st == C_BUSY) finish(c, (c->ps == P_UNTIL_CLOSE && n == 0) ? c->status : 0, t);
            close_conn(c);
            next_pending(NULL, t);
            return;
        }
        c->blen += (size_t)n;
        if (c->st != C_BUSY) { /* bytes nobody asked for */
            close_conn(c);
            next_pending(NULL, t);
            return;
        }
        int done = parse(c);
        if (done < 0) {
            finish(c, 0, t);
            close_conn(c);
            next_pending(NULL, t);
            return;
        }
        if (done == 1) {
            finish(c, c->status, t);
            if (c->close_after) {
                close_conn(c);
                next_pending(NULL, t);
                return;
            }
            c->st = C_IDLE;
            next_pending(c, t);
            if (c->st != C_BUSY) return; /* idle: wait for the next event */
        }
    }
}

static void expire(uint64_t t) {
    uint64_t limit = (uint64_t)(timeout_s * 1e9);
    for (int i = 0; i < maxconns; i++) {
        struct conn *c = &conns[i];
        if ((c->st == C_BUSY || c->st == C_CONNECTING) && c->req >= 0 && t - reqs[c->req].due > limit) {
            finish(c, -1, t);
            close_conn(c);
            next_pending(NULL, t);
        }
    }
    while (plen > 0 && (reqs[pending[phead]].status != -3 || t - reqs[pending[phead]].due > limit)) {
        long r = pending[phead];
        if (reqs[r].status == -3) { reqs[r].status = -1; reqs[r].done = t; }
        phead = (phead + 1) % nreqs;
        plen--;
    }
}

int main(int argc, char **argv) {
    int opt;
    while ((opt = getopt(argc, argv, "a:p:r:d:m:T:o:")) != -1) {
        switch (opt) {
        case 'a': addr = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'r': rate = atof(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'm': maxconns = atoi(optarg); break;
        case 'T': timeout_s = atof(optarg); break;
        case 'o': outpath = optarg; break;
        default:
            fprintf(stderr, "usage: overload_loadgen -p PORT -r RATE -d SECONDS [-a 127.0.0.1] [-m 4000] [-T 35] -o FILE\n");
            return 2;
        }
    }
    struct in_addr ia;
    if (port <= 0 || rate <= 0 || duration <= 0 || maxconns < 1 || maxconns > MAX_CONNS || !outpath ||
        inet_pton(AF_INET, addr, &ia) != 1 || (ntohl(ia.s_addr) >> 24) != 127) {
        fprintf(stderr, "overload_loadgen: need -p PORT, -r RATE > 0, -d SECONDS > 0, -o FILE, "
                        "1 <= -m <= %d and a 127.x.x.x address\n", MAX_CONNS);
        return 2;
    }
    request_len = (size_t)snprintf(request, sizeof request, "GET / HTTP/1.1\r\nHost: %s:%d\r\n\r\n", addr, port);
    nreqs = (long)(rate * duration);
    if (nreqs < 1) nreqs = 1;
    reqs = calloc((size_t)nreqs, sizeof *reqs);
    pending = calloc((size_t)nreqs, sizeof *pending);
    conns = calloc((size_t)maxconns, sizeof *conns);
    idle_stack = calloc((size_t)maxconns, sizeof *idle_stack);
    unused_stack = calloc((size_t)maxconns, sizeof *unused_stack);
    if (!reqs || !pending || !conns || !idle_stack || !unused_stack) die("calloc");
    for (int i = maxconns - 1; i >= 0; i--) {
        conns[i].fd = -1;
        conns[i].req = -1;
        unused_stack[nunused++] = i;
    }
    ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");

    const double interval = 1e9 / rate;
    const uint64_t t0 = now_ns() + 1000000;
    const uint64_t end = t0 + (uint64_t)(duration * 1e9);
    const uint64_t hard_end = end + (uint64_t)((timeout_s + 1) * 1e9);
    for (long i = 0; i < nreqs; i++) {
        reqs[i].due = t0 + (uint64_t)((double)i * interval);
        reqs[i].status = -3; /* not yet answered */
    }
    long k = 0;
    uint64_t last_expire = t0;
    struct epoll_event events[512];
    for (;;) {
        uint64_t t = now_ns();
        while (k < nreqs && reqs[k].due <= t) dispatch(k++, t);
        if (t - last_expire > 10000000ull) { expire(t); last_expire = t; }
        if (k >= nreqs) {
            /* done when no request is in flight or pending (idle connections do not count) */
            int outstanding = plen > 0;
            for (int i = 0; i < maxconns && !outstanding; i++)
                outstanding = conns[i].st == C_BUSY || conns[i].st == C_CONNECTING;
            if (!outstanding || t >= hard_end) break;
        }
        uint64_t wake = k < nreqs ? reqs[k].due : t + 10000000ull;
        if (wake > t + 10000000ull) wake = t + 10000000ull;
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
    for (int i = 0; i < maxconns; i++)
        if (conns[i].st == C_BUSY || conns[i].st == C_CONNECTING) finish(&conns[i], -1, t);

    long by[6] = {0}; /* 2xx, 503, 502, 504, other status, failures/timeouts/unsent */
    long failed = 0, timeouts = 0, unsent = 0;
    FILE *f = fopen(outpath, "w");
    if (!f) die("fopen");
    for (long i = 0; i < nreqs; i++) {
        struct req *r = &reqs[i];
        if (r->status == -3) { r->status = -2; r->done = t; }
        if (r->status == -2) unsent++;
        else if (r->status == -1) timeouts++;
        else if (r->status == 0) failed++;
        else if (r->status / 100 == 2) by[0]++;
        else if (r->status == 503) by[1]++;
        else if (r->status == 502) by[2]++;
        else if (r->status == 504) by[3]++;
        else by[4]++;
        fprintf(f, "%llu %llu %llu %d %d\n", (unsigned long long)r->due, (unsigned long long)r->start,
                (unsigned long long)r->done, r->status, r->flags);
    }
    fclose(f);
    printf("{\"tool\": \"overload_loadgen\", \"target_rate\": %.1f, \"duration_s\": %.3f, \"requests\": %ld, "
           "\"s2xx\": %ld, \"s503\": %ld, \"s502\": %ld, \"s504\": %ld, \"other_status\": %ld, "
           "\"failed\": %ld, \"timeouts\": %ld, \"unsent\": %ld, \"connections_opened\": %ld, "
           "\"peak_connections\": %ld, \"connect_failures\": %ld, \"t0_ns\": %llu}\n",
           rate, duration, nreqs, by[0], by[1], by[2], by[3], by[4], failed, timeouts, unsent, opened,
           peak_open, conn_failures, (unsigned long long)t0);
    return 0;
}

/*
 * loadgen: an open-loop HTTP/1.1 load generator for bench/run's fixed-rate latency test.
 *
 * Why not h2load --rps: h2load starts every client's rate timer at the same instant with the
 * same period, so requests leave in bursts of -c at a time and the proxy sees a queue that real
 * traffic would not build; and a request that waits for its connection to become free is timed
 * from when it was finally written, so a slow response hides the delay it causes to the ones
 * behind it (coordinated omission). See docs/performance.md.
 *
 * What this does instead (the wrk2 model): request k is *intended* to start at
 * t0 + k / rate, evenly spaced across all connections (connection k mod c). Its latency is
 * measured from that intended time to the last byte of its response, so any wait (in the proxy,
 * in the kernel, or for a connection still busy with a slow response) counts. One request in
 * flight per connection, keep-alive, no pipelining, one thread, epoll_pwait2 for the schedule.
 *
 * Usage: loadgen -p PORT [-a 127.0.0.1] [-c 50] -r RATE [-d 10] [-w 2] [-g US] [-o latencies.txt]
 *        [-t timeline.txt]
 * (-g: wake at most once per US microseconds and send everything due; default 0)
 * Prints one JSON object on stdout; with -o writes each measured latency in nanoseconds, one a
 * line; with -t writes "done latency" per measured request in completion order, both in
 * nanoseconds, done on CLOCK_MONOTONIC (what bench/tail-trace lines up with a kernel trace).
 * Only loopback targets are accepted.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE 16384
#define MAX_CONNS 4096

enum parse_state { P_HEAD, P_BODY_LENGTH, P_CHUNK_SIZE, P_CHUNK_DATA, P_CHUNK_CRLF, P_TRAILER };

struct conn {
    int fd;
    /* ring of intended start times (ns) of requests assigned to this connection, not yet sent */
    uint64_t *queue;
    size_t qhead, qlen, qcap;
    int busy;               /* a request is in flight */
    uint64_t inflight_intended;
    uint64_t inflight_start;  /* what its latency is measured from (see start_next) */
    uint64_t free_at;         /* when the previous response on this connection ended */
    size_t wr_off;          /* bytes of the request already written */
    char buf[BUF_SIZE];
    size_t blen;
    enum parse_state st;
    long long remaining;    /* body bytes (or chunk bytes) still expected */
    int status;
    int close_after;
};

static const char *addr = "127.0.0.1";
static int port = 0, nconns = 50;
static double rate = 0, duration = 10, warmup = 2;
static const char *outpath = NULL;
static const char *timelinepath = NULL;
static uint64_t *tdone; /* with -t: when each measured request ended, beside lat */
static uint64_t granularity = 0; /* ns */
static char request[512];
static size_t request_len;

static uint64_t *lat;
static size_t nlat, latcap;
/* how late this program itself wrote requests whose connection was free: its own jitter */
static uint64_t *lag;
static size_t nlag, lagcap;
static uint64_t sent, completed, measured_completed, non2xx, errors, reconnects;
static uint64_t window_start, window_end;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
    exit(2);
}

static int open_conn(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, addr, &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static void push(struct conn *c, uint64_t t) {
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

static void record(uint64_t intended, uint64_t start, uint64_t done) {
    if (intended < window_start || intended >= window_end) return;
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

/* Write as much of the current request as the socket takes; returns -1 on a dead connection. */
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

static int start_next(struct conn *c, uint64_t now) {
    if (c->busy || c->qlen == 0 || c->queue[c->qhead] > now) return 0;
    c->inflight_intended = c->queue[c->qhead];
    /* Busy at its intended time: the wait for the previous (slow) response is the server's and
     * counts. Free at its intended time: any delay is this program's own scheduling, which says
     * nothing about the server, so the clock starts when the request is written. */
    c->inflight_start = c->inflight_intended < c->free_at ? c->inflight_intended : now;
    c->qhead = (c->qhead + 1) % c->qcap;
    c->qlen--;
    if (c->inflight_intended >= c->free_at && c->inflight_intended >= window_start &&
        c->inflight_intended < window_end) {
        if (nlag == lagcap) {
            lagcap = lagcap ? lagcap * 2 : 1 << 16;
            lag = realloc(lag, lagcap * sizeof *lag);
            if (!lag) die("realloc");
        }
        lag[nlag++] = now - c->inflight_intended;
    }
    c->busy = 1;
    c->wr_off = 0;
    c->st = P_HEAD;
    c->status = 0;
    c->close_after = 0;
    sent++;
    return flush_request(c);
}

static int header_has(const char *head, size_t len, const char *name, const char *value) {
    /* case-insensitive search for "\r\nname: ...value" within one header line */
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
    for (size_t i = 0; i + 2 + nl < len; i++) {
        if (head[i] == '\r' && head[i + 1] == '\n' && strncasecmp(head + i + 2, name, nl) == 0 &&
            head[i + 2 + nl] == ':')
            return strtoll(head + i + 3 + nl, NULL, 10);
    }
    return -1;
}

/*
 * Consume bytes in c->buf. Returns 1 when a whole response was read, 0 when more is needed,
 * -1 on a malformed response.
 */
static int parse(struct conn *c) {
    for (;;) {
        switch (c->st) {
        case P_HEAD: {
            char *end = memmem(c->buf, c->blen, "\r\n\r\n", 4);
            if (!end) return c->blen >= BUF_SIZE ? -1 : 0;
            size_t hlen = (size_t)(end - c->buf) + 4;
            if (c->blen < 12 || strncmp(c->buf, "HTTP/1.", 7) != 0) return -1;
            c->status = atoi(c->buf + 9);
            c->close_after = header_has(c->buf, hlen, "connection", "close");
            if (header_has(c->buf, hlen, "transfer-encoding", "chunked")) {
                c->st = P_CHUNK_SIZE;
            } else {
                long long cl = header_number(c->buf, hlen, "content-length");
                if (cl < 0) cl = 0; /* responses here always carry a length */
                c->remaining = cl;
                c->st = P_BODY_LENGTH;
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
            if (c->remaining > 0) return 0;
            return 1;
        }
        case P_CHUNK_SIZE: {
            char *eol = memmem(c->buf, c->blen, "\r\n", 2);
            if (!eol) return c->blen >= BUF_SIZE ? -1 : 0;
            c->remaining = strtoll(c->buf, NULL, 16);
            size_t l = (size_t)(eol - c->buf) + 2;
            memmove(c->buf, c->buf + l, c->blen - l);
            c->blen -= l;
            c->st = c->remaining == 0 ? P_TRAILER : P_CHUNK_DATA;
            break;
        }
        case P_CHUNK_DATA: {
            size_t take = c->blen < (size_t)c->remaining ? c->blen : (size_t)c->remaining;
            memmove(c->buf, c->buf + take, c->blen - take);
            c->blen -= take;
            c->remaining -= (long long)take;
            if (c->remaining > 0) return 0;
            c->st = P_CHUNK_CRLF;
            break;
        }
        case P_CHUNK_CRLF:
            if (c->blen < 2) return 0;
            memmove(c->buf, c->buf + 2, c->blen - 2);
            c->blen -= 2;
            c->st = P_CHUNK_SIZE;
            break;
        case P_TRAILER: {
            /* no trailers expected: the last chunk is followed by an empty line */
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

static void reconnect(int ep, struct conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = open_conn();
    c->busy = 0;
    c->blen = 0;
    reconnects++;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
    /* requests queued behind the failed one go out on the new connection; a write error here
     * shows up as a read error on the next event */
    start_next(c, now_ns());
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

int main(int argc, char **argv) {
    int opt;
    while ((opt = getopt(argc, argv, "a:p:c:r:d:w:o:g:t:")) != -1) {
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
        default:
            fprintf(stderr, "usage: loadgen -p PORT -r RATE [-a 127.0.0.1] [-c 50] [-d 10] [-w 2] [-g US] [-o FILE] [-t FILE]\n");
            return 2;
        }
    }
    struct in_addr ia;
    if (port <= 0 || rate <= 0 || nconns <= 0 || nconns > MAX_CONNS || duration <= 0 ||
        inet_pton(AF_INET, addr, &ia) != 1 || (ntohl(ia.s_addr) >> 24) != 127) {
        fprintf(stderr, "loadgen: need -p PORT, -r RATE > 0, 1 <= -c <= %d, and a 127.x.x.x address\n",
                MAX_CONNS);
        return 2;
    }
    request_len = (size_t)snprintf(request, sizeof request,
                                   "GET / HTTP/1.1\r\nHost: %s:%d\r\n\r\n", addr, port);

    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    struct conn *conns = calloc((size_t)nconns, sizeof *conns);
    if (!conns) die("calloc");
    for (int i = 0; i < nconns; i++) {
        conns[i].fd = open_conn();
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
            struct conn *c = &conns[k % (uint64_t)nconns];
            push(c, t);
            if (start_next(c, now) < 0) { errors++; reconnect(ep, c); }
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
            struct conn *c = events[i].data.ptr;
            if (events[i].events & EPOLLOUT && c->busy && flush_request(c) < 0) {
                errors++;
                reconnect(ep, c);
                continue;
            }
            if (!(events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
            for (;;) {
                ssize_t r = read(c->fd, c->buf + c->blen, BUF_SIZE - c->blen);
                if (r < 0 && (errno == EAGAIN || errno == EINTR)) break;
                if (r <= 0) { /* closed or reset: the request in flight failed */
                    if (c->busy) errors++;
                    reconnect(ep, c);
                    break;
                }
                c->blen += (size_t)r;
                int done = c->busy ? parse(c) : -1;
                if (done < 0) { errors++; reconnect(ep, c); break; }
                if (done == 1) {
                    uint64_t t = now_ns();
                    completed++;
                    if (c->status < 200 || c->status > 299) non2xx++;
                    else record(c->inflight_intended, c->inflight_start, t);
                    c->busy = 0;
                    c->free_at = t;
                    if (c->close_after) { reconnect(ep, c); }
                    if (start_next(c, t) < 0) { errors++; reconnect(ep, c); }
                    if (c->close_after) break;
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

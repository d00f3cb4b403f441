package dev.sluice.server;

import dev.sluice.config.CertificateConfig;
import dev.sluice.config.TlsConfig;
import dev.sluice.tls.CertifiedKey;
import dev.sluice.tls.PemFiles;
import dev.sluice.tls.SniCertificates;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslCompletionEvent;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TLS listener's handshakes: the certificates chosen by SNI, the handshake's deadline, the
 * count of failed handshakes, and the certificates' renewal (a reload hands new ones to
 * {@link #use}; the watcher finds renewed files itself, {@link #checkFiles}). A connection past
 * its handshake keeps the certificate it got; only the next handshake sees a new one, so
 * nothing is dropped.
 *
 * <p>Pipeline of a connection: {@code tls} (an {@link SniHandler}, which reads the ClientHello
 * and replaces itself with the chosen certificate's {@link SslHandler}) → {@code handshake}
 * ({@link Handshake}, which counts a failure, and leaves once the handshake succeeds) → the
 * HTTP/1.1 decoder → {@link ClientConnection}; with HTTP/2 offered, {@code alpn} before the
 * decoder swaps it for HTTP/2's handlers when ALPN chose {@code h2} ({@link Http2Negotiation}).
 */
final class TlsTermination {
    private static final Logger LOG = LoggerFactory.getLogger(TlsTermination.class);
    /** 16 KiB: one TLS record, room for any real ClientHello (post-quantum key shares included). */
    private static final int MAX_CLIENT_HELLO = 16 * 1024;

    private final String listener;
    private final SniCertificates certificates;
    private final long handshakeTimeoutMillis;
    private final long watchIntervalMillis;
    private final HandshakeFailures failures;
    /** The files and where the config names them; replaced by a reload. */
    private volatile List<CertificateConfig> files;
    /** The files as the watcher last saw them (the watcher's thread, and {@link #checkFiles} callers, under this lock). */
    private List<String> seen;
    private ScheduledFuture<?> watching;

    /** Throws IllegalStateException when the provider cannot serve the certificates (the config check already tried). */
    TlsTermination(String listener, TlsConfig config, HandshakeFailures failures) {
        this(listener, config, false, failures);
    }

    /** @param http2 ALPN offers {@code h2} before {@code http/1.1} (the listener's {@code http2}) */
    TlsTermination(String listener, TlsConfig config, boolean http2, HandshakeFailures failures) {
        this.listener = listener;
        this.handshakeTimeoutMillis = config.handshakeTimeout().toMillis();
        this.watchIntervalMillis = Math.max(1, config.watchInterval().toMillis());
        this.failures = failures;
        this.files = config.certificates();
        try {
            this.certificates = new SniCertificates(loaded(config.certificates()), http2);
        } catch (SSLException e) {
            throw new IllegalStateException("listener " + listener + ": cannot serve its certificates: " + e.getMessage(), e);
        }
        this.seen = fingerprints(config.certificates());
    }

    /** Adds this listener's TLS handlers in front of a new connection's HTTP handlers. */
    void install(ChannelPipeline pipeline) {
        pipeline.addLast("tls", new Sni(certificates, handshakeTimeoutMillis))
                .addLast("handshake", new Handshake(failures));
    }

    /** The certificates of a reloaded config (read and checked by its loading), from the next handshake on. */
    synchronized void use(TlsConfig config) {
        List<CertifiedKey> next = loaded(config.certificates());
        files = config.certificates();
        if (next.equals(certificates.certificates())) {
            return;
        }
        try {
            certificates.use(next);
        } catch (SSLException e) {
            throw new IllegalStateException("listener " + listener + ": cannot serve its certificates: " + e.getMessage(), e);
        }
        LOG.info("listener {}: new connections get {}", listener, describe(next));
    }

    /** Looks at the files every {@code watch_interval} on {@code watcher}, a thread that is no event loop's. */
    synchronized void watch(ScheduledExecutorService watcher) {
        watching = watcher.scheduleWithFixedDelay(this::checkFiles, watchIntervalMillis, watchIntervalMillis,
                TimeUnit.MILLISECONDS);
    }

    synchronized void stopWatching() {
        if (watching != null) {
            watching.cancel(false);
        }
    }

    /**
     * When a certificate or key file changed (size, time or content: certbot and cert-manager
     * replace them), reads them all again and serves them from the next handshake; a pair that
     * cannot be used (unreadable, not PEM, a key that is not the certificate's: perhaps caught
     * between a renewal's two writes) is logged once at its {@code cert:} key and the certificates
     * served so far stay, until the files change again.
     */
    synchronized void checkFiles() {
        try {
            List<CertificateConfig> current = files;
            List<String> now = fingerprints(current);
            if (now.equals(seen)) {
                return;
            }
            seen = now;
            List<CertifiedKey> next = new ArrayList<>();
            for (CertificateConfig file : current) {
                switch (PemFiles.read(file.cert(), file.key(), Instant.now())) {
                    case PemFiles.Read.Unusable unusable -> {
                        LOG.warn("{}: {}; listener {} keeps serving the certificates it has", file.location(),
                                unusable.reason(), listener);
                        return;
                    }
                    case PemFiles.Read.Usable usable -> {
                        usable.warnings().forEach(w -> LOG.warn("{}: {}", file.location(), w));
                        next.add(usable.certified());
                    }
                }
            }
            if (next.equals(certificates.certificates())) {
                return;
            }
            certificates.use(next);
            LOG.info("listener {}: certificate files changed; new connections get {}", listener, describe(next));
        } catch (SSLException | RuntimeException e) {
            LOG.warn("listener {}: the changed certificate files cannot be served ({}); it keeps the certificates it has",
                    listener, e.toString());
        }
    }

    /** What is served now, in the config's order. */
    List<CertifiedKey> serving() {
        return certificates.certificates();
    }

    HandshakeFailures failures() {
        return failures;
    }

    private static List<CertifiedKey> loaded(List<CertificateConfig> configs) {
        return configs.stream().map(CertificateConfig::loaded).toList();
    }

    private static String describe(List<CertifiedKey> certified) {
        return String.join("; ", certified.stream().map(CertifiedKey::describe).toList());
    }

    /** Each file's size, modification time and SHA-256, in order; an unreadable file is its error. */
    private static List<String> fingerprints(List<CertificateConfig> configs) {
        List<String> prints = new ArrayList<>();
        for (CertificateConfig c : configs) {
            prints.add(fingerprint(c.cert()));
            prints.add(fingerprint(c.key()));
        }
        return prints;
    }

    private static String fingerprint(Path file) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            try (InputStream in = Files.newInputStream(file)) {
                byte[] buffer = new byte[8192];
                int n;
                while ((n = in.read(buffer)) > 0) {
                    sha.update(buffer, 0, n);
                }
            }
            return Files.size(file) + "/" + Files.getLastModifiedTime(file).toMillis() + "/"
                    + HexFormat.of().formatHex(sha.digest());
        } catch (IOException e) {
            return "unreadable: " + e;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** Reads the ClientHello, picks the certificate for its name, and gives the handshake its deadline. */
    private static final class Sni extends SniHandler {
        Sni(SniCertificates certificates, long handshakeTimeoutMillis) {
            // The timeout covers the wait for the ClientHello; the SslHandler's own covers the rest.
            super(certificates, MAX_CLIENT_HELLO, handshakeTimeoutMillis);
        }

        @Override
        protected SslHandler newSslHandler(SslContext context, ByteBufAllocator allocator) {
            SslHandler handler = super.newSslHandler(context, allocator);
            handler.setHandshakeTimeoutMillis(handshakeTimeoutMillis);
            return handler;
        }
    }

    /**
     * Counts a failed handshake (once per connection, by why) and closes the connection without a
     * log line; removes itself once the handshake succeeds, leaving the pipeline as a cleartext
     * connection's plus the TLS handler.
     */
    private static final class Handshake extends ChannelInboundHandlerAdapter {
        private final HandshakeFailures failures;
        private boolean failed;

        Handshake(HandshakeFailures failures) {
            this.failures = failures;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof SslHandshakeCompletionEvent done && done.isSuccess()) {
                ctx.pipeline().remove(this);
            } else if (event instanceof SslCompletionEvent completion && !completion.isSuccess()) {
                fail(ctx, completion.cause());
                return;
            }
            ctx.fireUserEventTriggered(event);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // Before the handshake ends, every error is the handshake's: counted, not logged.
            fail(ctx, cause);
        }

        private void fail(ChannelHandlerContext ctx, Throwable cause) {
            if (!failed) {
                failed = true;
                failures.failed(HandshakeFailures.Reason.of(cause));
                LOG.debug("TLS handshake with {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
            }
            ctx.close();
        }
    }
}

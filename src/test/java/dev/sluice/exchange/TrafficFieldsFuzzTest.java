package dev.sluice.exchange;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.sluice.http.AcceptEncoding;
import dev.sluice.http.TraceParent;
import dev.sluice.observe.RequestLog;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.NetUtil;
import java.nio.charset.StandardCharsets;

/**
 * The request fields Sluice reads itself from traffic, each on arbitrary field values (the bytes
 * of an input as ISO-8859-1, several fields split at LF): what a client puts there never throws
 * and never yields a value outside what the reader promises. Seeds in {@code
 * TrafficFieldsFuzzTestInputs/<method>/}.
 */
class TrafficFieldsFuzzTest {
    private static final String PEER = "10.9.9.9";
    /** The proxies in front of Sluice: 10.0.0.0/8. */
    private static final TrustedProxies TEN = address -> address.getAddress().length == 4 && address.getAddress()[0] == 10;

    private static String text(byte[] input) {
        return new String(input, StandardCharsets.ISO_8859_1);
    }

    /**
     * {@code X-Forwarded-For} behind trusted proxies ({@link RequestKeys#client}): the client is
     * always an IP address, the peer's or one the header names, and never a trusted proxy's
     * unless every address named is one.
     */
    @FuzzTest(maxDuration = "30s")
    void forwardedFor(byte[] input) {
        if (input.length > 2048) {
            return;
        }
        HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/",
                DefaultHttpHeadersFactory.headersFactory().withValidation(false));
        for (String value : text(input).split("\n", -1)) {
            request.headers().add(HeaderPolicy.X_FORWARDED_FOR, value);
        }
        String client = new RequestKeys(request, null, PEER, true, TEN, new RequestLog(0, 0)).client();
        assertThat(NetUtil.isValidIpV4Address(client) || NetUtil.isValidIpV6Address(client)).as("client %s", client).isTrue();
        assertThat(client.equals(PEER) || text(input).contains(client)
                || NetUtil.createByteArrayFromIpAddressString(client) != null).as("client %s", client).isTrue();
    }

    /**
     * {@code traceparent}: both readers (of a value, of head bytes) agree; after {@link
     * TraceParent#ensure} exactly one valid traceparent remains, the client's when it was valid.
     */
    @FuzzTest(maxDuration = "30s")
    void traceparent(byte[] input) {
        if (input.length > 1024) {
            return;
        }
        String all = text(input);
        byte[] bytes = all.getBytes(StandardCharsets.ISO_8859_1);
        assertThat(TraceParent.valid(all)).isEqualTo(TraceParent.valid(bytes, 0, bytes.length));
        HttpHeaders headers = DefaultHttpHeadersFactory.headersFactory().withValidation(false).newHeaders();
        String[] values = all.split("\n", -1);
        for (String value : values) {
            headers.add(TraceParent.TRACEPARENT, value);
        }
        headers.add(TraceParent.TRACESTATE, "k=v");
        TraceParent.Kept kept = TraceParent.ensure(headers);
        assertThat(headers.getAll(TraceParent.TRACEPARENT)).containsExactly(kept.value());
        assertThat(TraceParent.valid(kept.value())).isTrue();
        assertThat(kept.started()).isEqualTo(!(values.length == 1 && TraceParent.valid(values[0])));
    }

    /** {@code Accept-Encoding}: a q-value from 0 to 1000 for any coding, and {@code q=0} never accepts. */
    @FuzzTest(maxDuration = "30s")
    void acceptEncoding(byte[] input) {
        if (input.length > 2048) {
            return;
        }
        String accept = text(input);
        for (String coding : new String[] {"gzip", "br", "zstd", "identity"}) {
            int q = AcceptEncoding.quality(accept, coding);
            assertThat(q).as("q of %s", coding).isBetween(0, 1000);
        }
    }
}

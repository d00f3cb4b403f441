package dev.sluice.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSocket;

/** TLS client sockets for tests: a handshake with a given name (SNI) and protocol, and what the server showed. */
public final class TlsClients {
    private TlsClients() {}

    /**
     * Connects and shakes hands, trusting {@code trust}; {@code sni} null sends no name. The host
     * name is not checked against the certificate (the test CA's certificates name no IP address):
     * which certificate came is what tests look at.
     */
    public static SSLSocket connect(SSLContext trust, InetSocketAddress address, String sni, String protocol) {
        try {
            SSLSocket socket = (SSLSocket) trust.getSocketFactory().createSocket();
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setServerNames(sni == null ? List.of() : List.of(new SNIHostName(sni)));
            parameters.setEndpointIdentificationAlgorithm(null);
            parameters.setProtocols(new String[] {protocol});
            socket.setSSLParameters(parameters);
            socket.connect(new InetSocketAddress("127.0.0.1", address.getPort()), 5_000);
            socket.setSoTimeout(10_000);
            socket.startHandshake();
            return socket;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The serial number of the certificate the server showed on {@code socket}. */
    public static BigInteger servedSerial(SSLSocket socket) {
        try {
            return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
        } catch (SSLPeerUnverifiedException e) {
            throw new AssertionError("no certificate was shown", e);
        }
    }
}

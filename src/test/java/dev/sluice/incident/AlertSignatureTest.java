package dev.sluice.incident;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The signature docs/operations.md tells receivers to check, against a value computed outside Java. */
class AlertSignatureTest {
    private static final byte[] BODY = "{\"event\":\"open\"}".getBytes(StandardCharsets.UTF_8);

    @Test
    void theSignatureIsHmacSha256OfTheTimestampADotAndTheBody() {
        // python3 -c 'import hmac,hashlib; print(hmac.new(b"0123456789abcdef",
        //     b"1700000000.{\"event\":\"open\"}", hashlib.sha256).hexdigest())'
        assertThat(AlertSignature.sign("0123456789abcdef", 1_700_000_000L, BODY))
                .isEqualTo("sha256=7ffc6856860bbe9a01ca8cdc9fd56ba3b11e7ae4c5906884d244446215f113d1");
    }

    @Test
    void aReceiverRefusesAnotherBodyAnotherTimestampOrAnotherSecret() {
        String signature = AlertSignature.sign("0123456789abcdef", 1_700_000_000L, BODY);
        assertThat(AlertSignature.verify("0123456789abcdef", "1700000000", BODY, signature)).isTrue();
        assertThat(AlertSignature.verify("0123456789abcdef", "1700000001", BODY, signature)).isFalse();
        assertThat(AlertSignature.verify("0123456789abcdeX", "1700000000", BODY, signature)).isFalse();
        assertThat(AlertSignature.verify("0123456789abcdef", "1700000000", "{}".getBytes(StandardCharsets.UTF_8),
                signature)).isFalse();
        assertThat(AlertSignature.verify("0123456789abcdef", "soon", BODY, signature)).isFalse();
    }
}

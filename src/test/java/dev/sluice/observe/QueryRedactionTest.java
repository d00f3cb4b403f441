package dev.sluice.observe;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class QueryRedactionTest {
    private final QueryRedaction redaction = QueryRedaction.DEFAULT;

    @Test
    void theValuesOfListedParametersAreReplacedAndTheirNamesAndOtherParametersKept() {
        assertThat(redaction.apply("/cb?code=abc123&state=xyz&access_token=eyJ.x.y"))
                .isEqualTo("/cb?code=REDACTED&state=xyz&access_token=REDACTED");
        assertThat(redaction.apply("/s3/obj?X-Amz-Credential=AKIA%2F&X-Amz-Signature=f00d&v=1"))
                .as("names match ignoring case").isEqualTo("/s3/obj?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&v=1");
        assertThat(redaction.apply("/a?token=&key")).as("an empty value is still marked; a name alone has nothing to hide")
                .isEqualTo("/a?token=REDACTED&key");
    }

    @Test
    void aPathWithoutAListedParameterIsReturnedAsItIs() {
        String uri = "/search?q=token&tokens=1&mykey=2&page=3";
        assertThat(redaction.apply(uri)).isSameAs(uri);
        assertThat(redaction.apply("/token=1")).as("only the query").isEqualTo("/token=1");
        assertThat(redaction.apply(null)).isNull();
        assertThat(new QueryRedaction(List.of()).apply("/a?token=1")).isEqualTo("/a?token=1");
    }
}

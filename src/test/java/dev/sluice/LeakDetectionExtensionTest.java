package dev.sluice;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.PooledByteBufAllocator;
import java.lang.reflect.Proxy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtensionContext;

class LeakDetectionExtensionTest {
    @Test
    void aBufferNeverReleasedFailsTheClass() {
        leakOne();
        ExtensionContext context = (ExtensionContext) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ExtensionContext.class}, (proxy, method, args) ->
                        method.getName().equals("getDisplayName") ? "a leaking class" : null);
        assertThatThrownBy(() -> new LeakDetectionExtension().afterAll(context))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("leaked buffer");
    }

    private static void leakOne() {
        PooledByteBufAllocator.DEFAULT.directBuffer(64).writeLong(42);
    }
}

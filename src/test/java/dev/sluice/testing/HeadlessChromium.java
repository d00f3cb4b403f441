package dev.sluice.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.OutputStream;
import java.nio.file.Path;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * Debian's headless Chromium, driven by its chromedriver ({@code bin/test} installs both; a
 * machine without them fails the test saying so). Both binaries are named, so Selenium Manager has
 * nothing to look up or download. The caller quits the browser.
 */
public final class HeadlessChromium {
    private static final String CHROMIUM = "/usr/bin/chromium";
    private static final String CHROMEDRIVER = "/usr/bin/chromedriver";

    private HeadlessChromium() {
    }

    /** A fresh browser with its profile in {@code profile} (an empty directory) and {@code arguments} added. */
    public static WebDriver start(Path profile, String... arguments) {
        assertThat(new File(CHROMIUM)).as("Debian's chromium (bin/test installs it)").exists();
        assertThat(new File(CHROMEDRIVER)).as("Debian's chromium-driver (bin/test installs it)").exists();
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER);
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM);
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1280,1600", "--user-data-dir=" + profile);
        options.addArguments(arguments);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(new File(CHROMEDRIVER))
                .usingAnyFreePort().withLogOutput(OutputStream.nullOutputStream()).build();
        return new ChromeDriver(service, options);
    }
}

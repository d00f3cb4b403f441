package dev.sluice.replay;

/**
 * How many differing requests a replay tolerates before it fails: a count ({@code 3}) or a share of
 * the requests replayed ({@code 0.5%}). The default, 0, fails on the first difference: a CI gate
 * should be loosened on purpose, never by default.
 */
record MaxDiff(double value, boolean percent) {
    static final MaxDiff NONE = new MaxDiff(0, false);

    boolean exceededBy(long differences, long replayed) {
        double limit = percent ? value / 100.0 * replayed : value;
        return differences > limit;
    }

    static MaxDiff parse(String text) {
        String t = text.trim();
        boolean percent = t.endsWith("%");
        String number = percent ? t.substring(0, t.length() - 1) : t;
        try {
            double value = percent ? Double.parseDouble(number) : Long.parseLong(number);
            if (value >= 0 && (!percent || value <= 100)) {
                return new MaxDiff(value, percent);
            }
        } catch (NumberFormatException fallThrough) {
            // Told below.
        }
        throw new IllegalArgumentException("'" + text + "' is not a limit: write a count of differing requests (0, 3) "
                + "or a share of those replayed (0.5%)");
    }

    @Override
    public String toString() {
        String number = value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
        return percent ? number + "%" : number;
    }
}

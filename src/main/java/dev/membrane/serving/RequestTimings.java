package dev.membrane.serving;

import java.util.List;

/**
 * Wall-clock milliseconds one request spent in each stage.
 *
 * @param queueMs      from the end of its preparation to its admission into the batch
 * @param textEncodeMs tokenising, text encoding, transport and slot filling ({@link PreparedRequest#prepare})
 * @param denoiseMs    from admission to its last step (the UNet calls it shared, scheduler steps included)
 * @param decodeMs     VAE decoding and PNG encoding
 * @param batchRows    UNet rows of each call it took part in (the batch's size then)
 * @param unetCallMs   each UNet call it took part in, in order
 */
public record RequestTimings(double queueMs, double textEncodeMs, double denoiseMs, double decodeMs, List<Integer> batchRows,
                             List<Double> unetCallMs) {
}

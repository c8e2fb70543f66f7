package dev.membrane.gateway.outcome;

/** One generated image. */
public record ImageOut(byte[] png, String sha256, int width, int height, long seed) {
}

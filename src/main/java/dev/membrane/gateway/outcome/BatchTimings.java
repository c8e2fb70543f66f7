package dev.membrane.gateway.outcome;

/**
 * Where a completed request's time went, in milliseconds, and the batch it shared.
 *
 * @param queueMs        read to first denoising step
 * @param textEncodingMs tokenizer and text encoder for this request
 * @param denoisingMs    its first to its last UNet step
 * @param decodingMs     VAE decode and PNG
 * @param batchImages    most images that shared its UNet calls
 * @param batchRequests  most requests that shared its UNet calls
 * @param device         cpu or cuda
 * @param executionProvider ONNX Runtime's provider
 */
public record BatchTimings(double queueMs, double textEncodingMs, double denoisingMs, double decodingMs,
                           int batchImages, int batchRequests, String device, String executionProvider) {
}

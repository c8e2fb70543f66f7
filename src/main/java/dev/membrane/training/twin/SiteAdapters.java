package dev.membrane.training.twin;

import ai.djl.ndarray.NDArray;

/**
 * What the twin adds at an SPM site: {@code delta(module, x)} is m·(alpha/r)·U(D x) for the site's input x, or null
 * where no adapter sits on that module. Linear sites get x as [B, N, in]; 1x1-conv sites as [B, in, H, W].
 */
@FunctionalInterface
public interface SiteAdapters {
    SiteAdapters NONE = (module, x) -> null;

    NDArray delta(String module, NDArray x);
}

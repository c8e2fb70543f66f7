package dev.membrane.spm.catalog;

import java.nio.file.Path;
import java.util.List;

import dev.membrane.spm.ClosedFormDerivation;
import dev.membrane.spm.transport.Transport;

/**
 * One adapter of the catalog.
 *
 * @param id         concept id, e.g. {@code snoopy}
 * @param category   e.g. {@code nsfw}, {@code copyright}, {@code style}
 * @param prompts    the target prompts (as in the file's metadata)
 * @param file       the .safetensors file, resolved against the catalog's folder
 * @param sha256     the pinned SHA-256 of the file
 * @param transport  the default transport (a policy may override it)
 * @param derivation how the file was derived, for closed-form adapters; null for trained SPMs
 */
public record CatalogEntry(String id, String category, List<String> prompts, Path file, String sha256,
                           Transport transport, ClosedFormDerivation.Spec derivation) {
}

package dev.membrane.spm.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.MembraneException;
import dev.membrane.diffusion.StableDiffusionPipeline;
import dev.membrane.spm.ClosedFormDerivation;
import dev.membrane.spm.SpmFile;
import dev.membrane.spm.transport.Transport;
import dev.membrane.testing.TinyModel;

/** The committed reference adapters can never drift from the reference model they were derived for. */
class ReferenceAdaptersTest {
    private static final Path CATALOG = Path.of("adapters/catalog.json");

    @Test
    void everyAdapterReDerivesToItsPinnedBytes(@TempDir Path dir) throws Exception {
        AdapterCatalog catalog = AdapterCatalog.load(CATALOG);
        // the closed-form adapters of the tiny model; the shapes model's trained adapters have no derivation
        List<CatalogEntry> derived = catalog.entries().values().stream().filter(e -> e.derivation() != null).toList();
        assertEquals(List.of("nudity", "snoopy", "mickey-mouse", "pikachu", "van-gogh"), derived.stream().map(CatalogEntry::id).toList());
        try (StableDiffusionPipeline p = StableDiffusionPipeline.open(TinyModel.dir(), TinyModel.runtime())) {
            for (CatalogEntry e : derived) {
                SpmFile committed = catalog.loadVerified(e.id());
                assertEquals(e.prompts(), committed.prompts(), e.id());
                ClosedFormDerivation.Derived d = ClosedFormDerivation.derive(p.promptEncoder(),
                        TinyModel.dir().resolve("unet/model.onnx"), e.derivation());
                String sha = SpmFile.write(dir.resolve(e.id() + ".safetensors"), List.of(e.derivation().concept()), d.sites(), d.modules());
                assertEquals(e.sha256(), sha, e.id() + " re-derived to other bytes: run adapters/regenerate.sh and update the pins");
            }
        }
    }

    @Test
    void categoriesAndTransportDefaults() {
        AdapterCatalog catalog = AdapterCatalog.load(CATALOG);
        assertEquals("nsfw", catalog.get("nudity").category());
        assertEquals(Transport.fixed(2.0), catalog.get("nudity").transport());
        assertEquals(Transport.facilitated(2.0), catalog.get("van-gogh").transport());
        assertEquals("copyright", catalog.get("pikachu").category());
    }

    @Test
    void tamperedFileFailsItsPin(@TempDir Path dir) throws Exception {
        Path copy = dir.resolve("catalog.json");
        Files.copy(CATALOG, copy);
        for (String f : List.of("nudity", "snoopy", "mickey-mouse", "pikachu", "van-gogh")) {
            Files.copy(Path.of("adapters", f + ".safetensors"), dir.resolve(f + ".safetensors"), StandardCopyOption.REPLACE_EXISTING);
        }
        byte[] bytes = Files.readAllBytes(dir.resolve("snoopy.safetensors"));
        bytes[bytes.length - 1] ^= 1; // one bit of one weight
        Files.write(dir.resolve("snoopy.safetensors"), bytes);
        AdapterCatalog catalog = AdapterCatalog.load(copy);
        MembraneException e = assertThrows(MembraneException.class, () -> catalog.loadVerified("snoopy"));
        assertTrue(e.getMessage().contains("does not match the catalog's pin"), e.getMessage());
        Files.delete(dir.resolve("pikachu.safetensors"));
        assertThrows(MembraneException.class, () -> catalog.loadVerified("pikachu"));
        catalog.loadVerified("nudity");
    }
}

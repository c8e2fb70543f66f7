package dev.membrane.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.MembraneException;
import dev.membrane.diffusion.ModelFolder;
import dev.membrane.onnx.RuntimeConfig;
import dev.membrane.serving.memory.MemoryEstimate;
import dev.membrane.serving.memory.MemoryModel;

/**
 * Checks {@link MemoryModel}'s estimate against measured memory: for each case, one generation in a fresh child
 * JVM ({@link MemoryProbe}, same classpath) whose peak RSS rise over its post-load RSS is compared with the
 * estimate's terms. Cases whose estimate passes {@code maxEstimateBytes}, or that the machine's available memory
 * could not hold next to the weights, are skipped and listed as such rather than risked. Progress on stderr.
 */
public final class MemoryEstimateCheck {
    private static final long MB = 1L << 20;
    /** Head room the check leaves the machine beyond the child's weights and estimate. */
    private static final long SPARE_BYTES = 2L << 30;

    /**
     * One measured request size.
     *
     * @param preset  label (tiny, sd15)
     * @param model   model folder
     * @param width   image width
     * @param height  image height
     * @param images  images in the batch
     * @param guided  classifier-free guidance (two UNet rows per image)
     */
    public record Case(String preset, Path model, int width, int height, int images, boolean guided) {
        public int rows() {
            return guided ? 2 * images : images;
        }
    }

    /** The measured cases: the tiny preset's overhead, then the sd15 preset from small to the 12 GB bound. */
    public static List<Case> defaultCases(Path tiny, Path sd15) {
        List<Case> cases = new ArrayList<>(List.of(
                new Case("tiny", tiny, 64, 64, 1, true),
                new Case("tiny", tiny, 256, 256, 2, true)));
        if (sd15 != null) {
            cases.addAll(List.of(
                    new Case("sd15", sd15, 256, 256, 1, true),
                    new Case("sd15", sd15, 256, 256, 4, true),
                    new Case("sd15", sd15, 512, 512, 1, true),
                    new Case("sd15", sd15, 512, 512, 2, true),
                    new Case("sd15", sd15, 640, 640, 1, true),
                    new Case("sd15", sd15, 768, 768, 1, true),
                    new Case("sd15", sd15, 1024, 1024, 4, true)));
        }
        return cases;
    }

    /** JSON results and a Markdown table. */
    public record Report(ObjectNode json, String markdown) {
    }

    private MemoryEstimateCheck() {
    }

    public static Report run(List<Case> cases, RuntimeConfig rc, int steps, long maxEstimateBytes, Consumer<String> progress)
            throws IOException, InterruptedException {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode json = mapper.createObjectNode();
        json.put("arena", rc.memoryArena());
        json.put("optimization", rc.optimization());
        json.put("intraOpThreads", rc.intraOpThreads());
        json.put("steps", steps);
        json.put("cores", Runtime.getRuntime().availableProcessors());
        json.put("memTotalMb", meminfoKb("MemTotal") / 1024);
        json.put("maxEstimateMb", maxEstimateBytes / MB);
        ArrayNode rows = json.putArray("cases");
        StringBuilder md = new StringBuilder();
        md.append("| preset | size | images | UNet rows | estimate MB (UNet / VAE / rest) | measured peak − post-load RSS MB (UNet / decode / run) | estimate ÷ measured | seconds |\n");
        md.append("|---|---|---|---|---|---|---|---|\n");
        for (Case c : cases) {
            ModelFolder folder = ModelFolder.open(c.model());
            MemoryModel model = MemoryModel.of(folder);
            MemoryEstimate e = model.estimate(c.width(), c.height(), c.rows(), c.images());
            ObjectNode row = rows.addObject();
            row.put("preset", c.preset());
            row.put("width", c.width());
            row.put("height", c.height());
            row.put("images", c.images());
            row.put("rows", c.rows());
            row.put("weightsMb", model.weightBytes() / MB);
            row.put("estimateMb", e.totalBytes() / MB);
            row.put("estimateUNetMb", e.unetBytes() / MB);
            row.put("estimateVaeMb", e.vaeBytes() / MB);
            row.put("estimateRestMb", (e.fixedBytes() + e.latentBytes() + e.pixelBytes()) / MB);
            String label = c.preset() + " " + c.width() + "x" + c.height() + " x" + c.images() + " (" + c.rows() + " rows)";
            String estimateCell = String.format(Locale.ROOT, "%,d (%,d / %,d / %,d)", e.totalBytes() / MB, e.unetBytes() / MB,
                    e.vaeBytes() / MB, (e.fixedBytes() + e.latentBytes() + e.pixelBytes()) / MB);
            String skip = skipReason(e.totalBytes(), model.weightBytes(), maxEstimateBytes);
            if (skip != null) {
                progress.accept(label + ": skipped (" + skip + ")");
                row.put("skipped", skip);
                md.append(String.format(Locale.ROOT, "| %s | %dx%d | %d | %d | %s | not run: %s | | |\n", c.preset(), c.width(), c.height(),
                        c.images(), c.rows(), estimateCell, skip));
                continue;
            }
            progress.accept(label + ": estimate " + e.totalBytes() / MB + " MB; load " + loadAverage() + "; running a child JVM");
            JsonNode m = measure(c, rc, steps);
            long before = m.get("rssBeforeKb").asLong();
            long unet = m.get("peakAfterUNetKb").asLong() - before;
            long decode = m.get("peakAfterDecodeKb").asLong() - m.get("rssAfterUNetKb").asLong();
            long run = Math.max(m.get("peakAfterUNetKb").asLong(), m.get("peakAfterDecodeKb").asLong()) - before;
            row.set("child", m);
            row.put("measuredUNetMb", unet / 1024);
            row.put("measuredDecodeMb", decode / 1024);
            row.put("measuredRunMb", run / 1024);
            double ratio = e.totalBytes() / (run * 1024.0);
            row.put("estimateOverMeasured", ratio);
            double seconds = m.get("unetSeconds").asDouble() + m.get("decodeSeconds").asDouble();
            progress.accept(String.format(Locale.ROOT, "%s: measured %,d MB (UNet %,d, decode %,d), estimate/measured %.2f, %.1f s",
                    label, run / 1024, unet / 1024, decode / 1024, ratio, seconds));
            md.append(String.format(Locale.ROOT, "| %s | %dx%d | %d | %d | %s | %,d (%,d / %,d / %,d) | %.2f | %.0f |\n", c.preset(), c.width(),
                    c.height(), c.images(), c.rows(), estimateCell, run / 1024, unet / 1024, decode / 1024, run / 1024, ratio, seconds));
        }
        return new Report(json, md.toString());
    }

    /** Why a case is not run: its estimate is past the bound, or the machine cannot spare weights + estimate now. */
    private static String skipReason(long estimate, long weights, long maxEstimate) throws IOException {
        if (estimate > maxEstimate) return "estimate over the " + maxEstimate / MB + " MB bound";
        long available = meminfoKb("MemAvailable") * 1024;
        if (available < weights + estimate + SPARE_BYTES) {
            return "only " + available / MB + " MB available for " + (weights + estimate) / MB + " MB of weights and estimate";
        }
        return null;
    }

    private static JsonNode measure(Case c, RuntimeConfig rc, int steps) throws IOException, InterruptedException {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx2g",
                "-cp", childClasspath(), MemoryProbe.class.getName(), c.model().toAbsolutePath().toString(),
                Integer.toString(c.width()), Integer.toString(c.height()), Integer.toString(c.images()), Boolean.toString(c.guided()),
                Integer.toString(steps), Boolean.toString(rc.memoryArena()), Integer.toString(rc.intraOpThreads()), rc.optimization());
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String stdout;
        try (InputStream in = p.getInputStream()) {
            stdout = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        int rc2 = p.waitFor();
        if (rc2 != 0) throw new MembraneException("memory probe for " + c + " exited with " + rc2 + (rc2 == 137 ? " (killed: out of memory?)" : ""));
        String last = stdout.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b)
                .orElseThrow(() -> new MembraneException("memory probe for " + c + " printed no result: " + stdout));
        return new ObjectMapper().readTree(last);
    }

    /**
     * The child's classpath: this JVM's jars (under Quarkus's fast-jar launcher, whose class path is
     * {@code quarkus-run.jar} alone, the application's jars beside it in {@code app/} and {@code lib/}), listed in
     * the manifest of a temporary jar, as surefire does. A plain {@code -cp} of 160 jars does not work: with a
     * class path string past about 4 kB, ONNX Runtime 1.29's Java binding crashes the JVM (SIGSEGV, no hs_err)
     * while creating its environment.
     */
    static String childClasspath() throws IOException {
        String cp = System.getProperty("java.class.path");
        List<Path> jars = new ArrayList<>();
        for (String entry : cp.split(java.io.File.pathSeparator)) if (!entry.isEmpty()) jars.add(Path.of(entry).toAbsolutePath());
        if (jars.size() == 1 && jars.get(0).getFileName().toString().equals("quarkus-run.jar")) {
            Path root = jars.get(0).getParent();
            jars.clear();
            for (String sub : List.of("app", "lib/main", "lib/boot")) {
                Path d = root.resolve(sub);
                if (!Files.isDirectory(d)) continue;
                try (Stream<Path> s = Files.list(d)) {
                    s.filter(f -> f.toString().endsWith(".jar")).sorted().forEach(jars::add);
                }
            }
        }
        Path pathing = Files.createTempFile("membrane-memory-probe-", ".jar");
        pathing.toFile().deleteOnExit();
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        StringBuilder urls = new StringBuilder();
        for (Path j : jars) urls.append(urls.isEmpty() ? "" : " ").append(j.toUri());
        manifest.getMainAttributes().put(Attributes.Name.CLASS_PATH, urls.toString());
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(pathing), manifest)) {
            out.flush();
        }
        return pathing.toString();
    }

    private static long meminfoKb(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith(field + ":")) return Long.parseLong(line.replaceAll("\\D+", ""));
        }
        throw new IOException("/proc/meminfo has no " + field);
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim().split(" ")[0];
        } catch (IOException e) {
            return "unknown";
        }
    }
}

package dev.membrane.training;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.logging.Logger;

import dev.membrane.MembraneException;

/**
 * DJL's PyTorch engine for training, set up so that nothing is downloaded at run time: offline mode on, the
 * natives come from the {@code pytorch-native-cpu} jar on the classpath and are unpacked into a cache under
 * Membrane's data directory (not {@code ~/.djl.ai}). Inference stays on ONNX Runtime; the two engines share
 * weights (read from the same ONNX files), not code.
 */
public final class TorchEngine {
    private static final Logger LOG = Logger.getLogger(TorchEngine.class.getName());
    /** What to put on the classpath for CUDA training; our registry does not serve it. */
    static final String CUDA_NATIVES = "ai.djl.pytorch:pytorch-native-cu128:2.7.1:linux-x86_64 (DJL's CUDA natives) in place of pytorch-native-cpu";
    private static Engine engine; // guarded by TorchEngine.class

    private TorchEngine() {
    }

    /** The engine, started once per process with its cache under {@code cacheDir}. */
    public static synchronized Engine start(Path cacheDir) {
        if (engine != null) return engine;
        try {
            Files.createDirectories(cacheDir);
        } catch (IOException e) {
            throw new MembraneException(cacheDir + ": cannot create the training engine's cache (" + e.getMessage() + ")");
        }
        // DJL reads these as system properties or environment variables; an operator's own setting wins.
        setIfAbsent("ai.djl.offline", "true");
        setIfAbsent("DJL_CACHE_DIR", cacheDir.toAbsolutePath().toString());
        setIfAbsent("ENGINE_CACHE_DIR", cacheDir.toAbsolutePath().toString());
        long start = System.nanoTime();
        try {
            engine = Engine.getEngine("PyTorch");
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            throw new MembraneException("cannot start the PyTorch training engine offline (" + e.getMessage()
                    + "); ai.djl.pytorch:pytorch-native-cpu:2.7.1:linux-x86_64 must be on the classpath");
        }
        LOG.info(() -> String.format(Locale.ROOT, "PyTorch %s training engine ready in %.0f ms (cache %s)",
                engine.getVersion(), (System.nanoTime() - start) / 1e6, cacheDir));
        return engine;
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null && System.getenv(key) == null) System.setProperty(key, value);
    }

    /** {@code cpu} or {@code cuda[:N]}; CUDA fails with one line naming what to add when its natives are absent. */
    public static Device device(Engine engine, String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (n.equals("cpu")) return Device.cpu();
        if (n.equals("cuda") || n.startsWith("cuda:")) {
            int id = n.equals("cuda") ? 0 : Integer.parseInt(n.substring(5));
            if (engine.getGpuCount() <= id) {
                throw new MembraneException("--device " + name + ": the PyTorch engine sees " + engine.getGpuCount()
                        + " CUDA device(s); CUDA training needs " + CUDA_NATIVES + " and an NVIDIA driver");
            }
            return Device.gpu(id);
        }
        throw new MembraneException("unknown device '" + name + "' (cpu, cuda)");
    }
}

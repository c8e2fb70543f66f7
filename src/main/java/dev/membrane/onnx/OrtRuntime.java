package dev.membrane.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.logging.Logger;

import dev.membrane.MembraneException;

/**
 * The process's ONNX Runtime environment and the device every session runs on.
 *
 * <p>One environment-wide intra-op thread pool serves all sessions: several sessions each with their own spinning
 * pool were measured about 2x slower on a 2-core machine. ONNX Runtime's environment is a process singleton, so the
 * first runtime created fixes the pool; later ones reuse it (and say so in the log).
 *
 * <p>Device choice: {@code cpu} never touches CUDA; {@code cuda} fails when CUDA cannot be used; {@code auto} skips
 * CUDA where no NVIDIA driver is present (so the 583 MB CUDA provider is never unpacked there), otherwise tries it
 * and falls back to CPU with the reason logged. The GPU build of ONNX Runtime does not fall back by itself.
 *
 * <p>Thread-safe.
 */
public final class OrtRuntime {
    private static final Logger LOG = Logger.getLogger(OrtRuntime.class.getName());
    private static final Path NVIDIA_DRIVER = Path.of("/proc/driver/nvidia/version");
    private static Boolean globalPool; // guarded by OrtRuntime.class

    private final OrtEnvironment env;
    private final RuntimeConfig config;
    private final boolean usesGlobalPool;
    private volatile ExecutionTarget target;

    private OrtRuntime(OrtEnvironment env, RuntimeConfig config, boolean usesGlobalPool, ExecutionTarget target) {
        this.env = env;
        this.config = config;
        this.usesGlobalPool = usesGlobalPool;
        this.target = target;
    }

    public static OrtRuntime create(RuntimeConfig config) {
        boolean pool;
        OrtEnvironment env;
        synchronized (OrtRuntime.class) {
            if (globalPool == null) {
                try (OrtEnvironment.ThreadingOptions threads = new OrtEnvironment.ThreadingOptions()) {
                    if (config.intraOpThreads() > 0) threads.setGlobalIntraOpNumThreads(config.intraOpThreads());
                    threads.setGlobalInterOpNumThreads(1);
                    threads.setGlobalSpinControl(config.spinning());
                    env = onLargeStack(() -> OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING, "membrane", threads));
                    globalPool = true;
                } catch (OrtException | IllegalStateException e) {
                    // e.g. another class loader of this process made the environment first (Quarkus tests)
                    LOG.info("ONNX Runtime environment-wide thread pool unavailable (" + e.getMessage()
                            + "); sessions get their own pools");
                    env = defaultEnvironment();
                    globalPool = false;
                }
            } else {
                // made by the first call (either branch above): getEnvironment only hands it out, no native creation
                env = OrtEnvironment.getEnvironment();
            }
            pool = globalPool;
        }
        return new OrtRuntime(env, config, pool, chooseTarget(config));
    }

    /** The process's environment as it is (made with defaults if none exists), on a large stack. */
    private static OrtEnvironment defaultEnvironment() {
        try {
            return onLargeStack(OrtEnvironment::getEnvironment);
        } catch (OrtException e) {
            throw new IllegalStateException("cannot happen: getEnvironment() declares no OrtException", e);
        }
    }

    /** Stack for creating the environment (only reserved: the thread touches what the recursion needs). */
    static final long ENVIRONMENT_STACK_BYTES = 256L << 20;

    /** What may fail while creating the environment. */
    interface EnvironmentTask<T> {
        T call() throws OrtException;
    }

    /**
     * Runs {@code task} on a thread of its own with {@link #ENVIRONMENT_STACK_BYTES} of stack. ONNX Runtime 1.29's
     * environment creation recurses natively in proportion to the process's command line: on the JVM's default
     * 1 MB main stack, {@code classify} over about 200 image paths (5,000 characters) died of SIGSEGV with no
     * message at all, before classifying anything.
     */
    static <T> T onLargeStack(EnvironmentTask<T> task) throws OrtException {
        Object[] result = new Object[1];
        Throwable[] failure = new Throwable[1];
        Thread t = new Thread(null, () -> {
            try {
                result[0] = task.call();
            } catch (Throwable e) {
                failure[0] = e;
            }
        }, "ort-environment", ENVIRONMENT_STACK_BYTES);
        t.start();
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the environment is being made either way; wait for it, then keep the flag
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        Throwable f = failure[0];
        if (f instanceof OrtException e) throw e;
        if (f instanceof RuntimeException e) throw e;
        if (f instanceof Error e) throw e;
        @SuppressWarnings("unchecked")
        T value = (T) result[0];
        return value;
    }

    private static ExecutionTarget chooseTarget(RuntimeConfig config) {
        return switch (config.device()) {
            case CPU -> new ExecutionTarget(ExecutionTarget.CPU, -1, null);
            case CUDA -> {
                String why = cudaUnavailableReason(config.deviceId());
                if (why != null) throw new MembraneException("membrane.device=cuda but CUDA cannot be used: " + why);
                yield new ExecutionTarget(ExecutionTarget.CUDA, config.deviceId(), null);
            }
            case AUTO -> {
                String why = cudaUnavailableReason(config.deviceId());
                if (why == null) yield new ExecutionTarget(ExecutionTarget.CUDA, config.deviceId(), null);
                LOG.info("membrane.device=auto: running on CPU because " + why);
                yield new ExecutionTarget(ExecutionTarget.CPU, -1, why);
            }
        };
    }

    /** Null when the CUDA provider can be added to a session; otherwise why not. */
    static String cudaUnavailableReason(int deviceId) {
        if (!Files.exists(NVIDIA_DRIVER)) return "no NVIDIA driver is present (" + NVIDIA_DRIVER + " does not exist)";
        try (OrtSession.SessionOptions probe = new OrtSession.SessionOptions()) {
            probe.addCUDA(deviceId);
            return null;
        } catch (OrtException | RuntimeException | UnsatisfiedLinkError e) {
            return "the CUDA execution provider could not be added (" + e.getMessage() + ")";
        }
    }

    public OrtEnvironment environment() {
        return env;
    }

    public RuntimeConfig config() {
        return config;
    }

    /** Where the sessions run; may turn from CUDA to CPU if {@code auto} had to fall back at session creation. */
    public ExecutionTarget target() {
        return target;
    }

    /**
     * Opens a session on {@code modelFile} (external data is resolved beside it). Under {@code auto}, a session
     * that cannot start on CUDA moves this runtime to CPU for good, with the reason logged.
     */
    public ModelSession open(Path modelFile, String role) {
        if (!Files.isRegularFile(modelFile)) throw new MembraneException(modelFile + ": missing " + role + " model");
        ExecutionTarget t = target;
        try {
            return new ModelSession(this, modelFile, role, createSession(modelFile, t));
        } catch (OrtException e) {
            if (t.isCuda() && config.device() == DeviceChoice.AUTO) {
                String why = "the " + role + " session could not start on CUDA (" + e.getMessage() + ")";
                LOG.warning("membrane.device=auto: falling back to CPU because " + why);
                target = new ExecutionTarget(ExecutionTarget.CPU, -1, why);
                return OrtErrors.call(modelFile, "creating the " + role + " session",
                        () -> new ModelSession(this, modelFile, role, createSession(modelFile, target)));
            }
            throw OrtErrors.wrap(modelFile, "creating the " + role + " session", e);
        }
    }

    private OrtSession createSession(Path modelFile, ExecutionTarget t) throws OrtException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setOptimizationLevel(config.optLevel());
            options.setCPUArenaAllocator(config.memoryArena());
            if (usesGlobalPool) {
                options.disablePerSessionThreads();
            } else {
                if (config.intraOpThreads() > 0) options.setIntraOpNumThreads(config.intraOpThreads());
                options.addConfigEntry("session.intra_op.allow_spinning", config.spinning() ? "1" : "0");
            }
            if (t.isCuda()) options.addCUDA(t.deviceId());
            return OrtCallGate.call(() -> env.createSession(modelFile.toString(), options));
        }
    }
}

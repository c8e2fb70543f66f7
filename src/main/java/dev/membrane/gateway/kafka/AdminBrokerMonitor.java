package dev.membrane.gateway.kafka;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;

import dev.membrane.gateway.publish.TopicLimits;

/**
 * Asks the broker every {@code probeIntervalMs} for its cluster id ({@code describeCluster}, bounded by the
 * interval), and reads the output topics' {@code max.message.bytes} whenever it answers. Unreachable once it has
 * not answered for {@code unreachableAfterMs}.
 */
final class AdminBrokerMonitor implements BrokerMonitor {
    private static final Logger LOG = Logger.getLogger(AdminBrokerMonitor.class.getName());
    private final Admin admin;
    private final List<String> topics;
    private final long probeIntervalMs;
    private final long unreachableAfterMs;
    private final ScheduledExecutorService timer;
    private final Map<String, Integer> maxBytes = new ConcurrentHashMap<>();
    private volatile long lastAnsweredAtMs;
    private volatile boolean wasReachable = true;

    private AdminBrokerMonitor(Admin admin, Collection<String> topics, long probeIntervalMs, long unreachableAfterMs) {
        this.admin = admin;
        this.topics = List.copyOf(topics);
        this.probeIntervalMs = probeIntervalMs;
        this.unreachableAfterMs = unreachableAfterMs;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "membrane-broker-probe");
            t.setDaemon(true);
            return t;
        });
    }

    static AdminBrokerMonitor start(Properties clientConfig, Collection<String> topics, long probeIntervalMs, long unreachableAfterMs) {
        Properties p = new Properties();
        p.putAll(clientConfig);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Long.toString(probeIntervalMs));
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Long.toString(probeIntervalMs));
        AdminBrokerMonitor m = new AdminBrokerMonitor(Admin.create(p), topics, probeIntervalMs, unreachableAfterMs);
        m.probe();
        m.timer.scheduleWithFixedDelay(m::probe, probeIntervalMs, probeIntervalMs, TimeUnit.MILLISECONDS);
        return m;
    }

    private void probe() {
        try {
            admin.describeCluster(new DescribeClusterOptions().timeoutMs((int) probeIntervalMs)).clusterId().get(probeIntervalMs, TimeUnit.MILLISECONDS);
            lastAnsweredAtMs = System.currentTimeMillis();
            readLimits();
        } catch (Exception e) {
            // unreachable, or timed out: lastAnsweredAtMs stays where it was
        } catch (Throwable t) {
            LOG.warning("broker probe failed: " + t);
        }
        boolean now = reachable();
        if (now != wasReachable) {
            if (now) LOG.info("the broker answers again");
            else LOG.warning("the broker has not answered for " + unreachableAfterMs + " ms: not ready");
            wasReachable = now;
        }
    }

    private void readLimits() throws Exception {
        List<ConfigResource> resources = topics.stream().map(t -> new ConfigResource(ConfigResource.Type.TOPIC, t)).toList();
        Map<ConfigResource, Config> configs = admin.describeConfigs(resources, new DescribeConfigsOptions().timeoutMs((int) probeIntervalMs))
                .all().get(probeIntervalMs, TimeUnit.MILLISECONDS);
        configs.forEach((r, c) -> {
            ConfigEntry e = c.get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
            if (e != null && e.value() != null) maxBytes.put(r.name(), Integer.parseInt(e.value()));
        });
    }

    @Override
    public boolean reachable() {
        return System.currentTimeMillis() - lastAnsweredAtMs < unreachableAfterMs;
    }

    @Override
    public long lastAnsweredAtMs() {
        return lastAnsweredAtMs;
    }

    @Override
    public TopicLimits limits() {
        return topic -> maxBytes.getOrDefault(topic, TopicLimits.BROKER_DEFAULT);
    }

    @Override
    public void close() {
        timer.shutdownNow();
        admin.close(java.time.Duration.ofSeconds(2));
    }
}

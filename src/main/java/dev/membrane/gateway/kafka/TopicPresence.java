package dev.membrane.gateway.kafka;

import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/** Whether a topic exists, asked once of the cluster: before a consumer subscribes to something that may not be there. */
public enum TopicPresence {
    PRESENT, ABSENT, UNKNOWN;

    /** @param clientConfig connection settings (bootstrap, security); UNKNOWN when the cluster does not answer within {@code timeoutMs} */
    public static TopicPresence of(Properties clientConfig, String topic, long timeoutMs) {
        Properties p = new Properties();
        p.putAll(clientConfig);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Long.toString(timeoutMs));
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Long.toString(timeoutMs));
        try (Admin admin = Admin.create(p)) {
            admin.describeTopics(List.of(topic)).allTopicNames().get(timeoutMs, TimeUnit.MILLISECONDS);
            return PRESENT;
        } catch (ExecutionException e) {
            return e.getCause() instanceof UnknownTopicOrPartitionException ? ABSENT : UNKNOWN;
        } catch (Exception e) {
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
            return UNKNOWN;
        }
    }
}

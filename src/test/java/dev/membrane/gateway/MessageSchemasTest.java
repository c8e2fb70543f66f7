package dev.membrane.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import dev.membrane.gateway.message.GenerationRequestMessage;
import dev.membrane.gateway.outcome.ErrorCode;
import dev.membrane.gateway.outcome.Outcomes;
import dev.membrane.gateway.outcome.Received;
import dev.membrane.gateway.message.OutputRecords;
import dev.membrane.policy.Policy;
import dev.membrane.policy.PolicyDecision;
import dev.membrane.spm.StackingMode;

/** The schemas are not vacuous: they reject what the contract forbids. */
class MessageSchemasTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void schemasRejectWhatTheContractForbids() throws Exception {
        var result = MessageSchemas.load("result.schema.json");
        assertFalse(result.validate(JSON.readTree("{\"requestId\":\"a\",\"status\":\"DONE\",\"images\":[],\"policy\":null,\"completedAt\":\"x\"}")).isEmpty());
        // a rejection must say why, and carry no image
        assertFalse(result.validate(JSON.readTree("{\"requestId\":\"a\",\"status\":\"REJECTED\",\"images\":[],\"policy\":null,\"completedAt\":\"2026-01-01T00:00:00Z\"}")).isEmpty());
        var request = MessageSchemas.load("request.schema.json");
        assertFalse(request.validate(JSON.readTree("{\"requestId\":\"a\"}")).isEmpty());
        assertFalse(request.validate(JSON.readTree("{\"requestId\":\"a\",\"prompt\":\"x\",\"width\":65}")).isEmpty());
        var audit = MessageSchemas.load("audit.schema.json");
        assertFalse(audit.validate(JSON.readTree("{\"requestId\":\"a\",\"status\":\"COMPLETED\"}")).isEmpty());
    }

    /** An audit record of the gateway's own making for a request under a policy with this stacking. */
    private static ObjectNode audit(StackingMode stacking) throws Exception {
        var policy = new Policy("p", "1", "0".repeat(64), List.of(), stacking, false);
        var request = new GenerationRequestMessage("r1", "t", "a", "a cat", "", 64, 64, 3, 7.5, 1, true, "ddim", 1, "tiny");
        var outcome = Outcomes.failed(new Received("in", 0, 5, 1_700_000_000_000L, 1, null, new byte[0], 1_700_000_000_000L), request,
                new PolicyDecision(policy, List.of(), null), ErrorCode.GENERATION_FAILED, "test", 1_700_000_000_100L);
        var records = new OutputRecords(new OutputRecords.Topics("in", "results", "audit", "dlq"),
                new OutputRecords.GatewayInfo("test", Map.of()));
        var audit = records.records(outcome).stream().filter(r -> r.topic().equals("audit")).findFirst().orElseThrow();
        return (ObjectNode) JSON.readTree(audit.value());
    }

    /** The same γ is γ·ΔW under linear stacking and γ²·ΔW under official: every audit record says which. */
    @Test
    void auditRecordsSayWhichPowerOfGammaTheStackingApplies() throws Exception {
        ObjectNode linear = audit(StackingMode.LINEAR);
        ObjectNode official = audit(StackingMode.OFFICIAL);
        assertEquals("linear", linear.get("stacking").asText());
        assertEquals(1, linear.get("gammaPower").asInt());
        assertEquals("official", official.get("stacking").asText());
        assertEquals(2, official.get("gammaPower").asInt());
        MessageSchemas.assertValid("audit.schema.json", linear);
        MessageSchemas.assertValid("audit.schema.json", official);

        var schema = MessageSchemas.load("audit.schema.json");
        assertFalse(schema.validate(official.deepCopy().put("gammaPower", 1)).isEmpty(), "official is γ², not γ");
        assertFalse(schema.validate(linear.deepCopy().put("gammaPower", 2)).isEmpty(), "linear is γ, not γ²");
        ObjectNode without = official.deepCopy();
        without.remove("gammaPower");
        assertFalse(schema.validate(without).isEmpty(), "stacking without gammaPower");
    }
}

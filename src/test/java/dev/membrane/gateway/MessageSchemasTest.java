package dev.membrane.gateway;

import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

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
}

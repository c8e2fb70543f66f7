package dev.membrane.gateway;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;

/** The JSON Schemas of kafka/schemas/, applied to real messages. */
public final class MessageSchemas {
    private static final JsonSchemaFactory FACTORY = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
    private static final ObjectMapper JSON = new ObjectMapper();

    private MessageSchemas() {
    }

    public static JsonSchema load(String name) {
        try {
            return FACTORY.getSchema(JSON.readTree(Path.of("kafka/schemas", name).toFile()));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    public static void assertValid(String schema, JsonNode message) {
        Set<ValidationMessage> errors = load(schema).validate(message);
        assertTrue(errors.isEmpty(), schema + ": " + errors + " in " + message.toString().substring(0, Math.min(600, message.toString().length())));
    }

    static void assertValidHeaders(Map<String, String> headers) {
        assertValid("dlq.schema.json", JSON.valueToTree(headers));
    }
}

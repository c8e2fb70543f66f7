package dev.membrane.safety.tfjs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.MembraneException;

/**
 * Reads one JavaScript literal (object, array, string, number, {@code true}/{@code false}/{@code null}) as minifiers
 * write it: unquoted keys, {@code !0}/{@code !1} for booleans, {@code .5} for numbers. nsfwjs bundles its model
 * JSON and base64 weight shards this way inside browserify modules ({@code a.exports={...}}), so the literal is
 * data and is parsed, never evaluated.
 */
final class JsLiteral {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private final String text;
    private final String source;
    private int pos;

    private JsLiteral(String text, int start, String source) {
        this.text = text;
        this.pos = start;
        this.source = source;
    }

    /** The literal that starts at {@code start} (whitespace allowed before it). */
    static JsonNode parse(String text, int start, String source) {
        return new JsLiteral(text, start, source).value();
    }

    private JsonNode value() {
        skipSpace();
        if (pos >= text.length()) throw error("a value expected, the text ended");
        char c = text.charAt(pos);
        switch (c) {
            case '{':
                return object();
            case '[':
                return array();
            case '"':
            case '\'':
                return NODES.textNode(string());
            case '!':
                // the minifier's booleans: !0 is true, !1 is false
                if (text.startsWith("!0", pos)) {
                    pos += 2;
                    return NODES.booleanNode(true);
                }
                if (text.startsWith("!1", pos)) {
                    pos += 2;
                    return NODES.booleanNode(false);
                }
                throw error("only !0 and !1 are literals");
            default:
                if (c == '-' || c == '.' || c == '+' || Character.isDigit(c)) return number();
                String word = identifier();
                switch (word) {
                    case "true":
                        return NODES.booleanNode(true);
                    case "false":
                        return NODES.booleanNode(false);
                    case "null":
                        return NODES.nullNode();
                    default:
                        throw error("'" + word + "' is not a literal (code, not data)");
                }
        }
    }

    private ObjectNode object() {
        ObjectNode o = NODES.objectNode();
        pos++;
        skipSpace();
        if (peek() == '}') {
            pos++;
            return o;
        }
        while (true) {
            skipSpace();
            char c = peek();
            String key = c == '"' || c == '\'' ? string() : Character.isDigit(c) ? digits() : identifier();
            skipSpace();
            expect(':');
            o.set(key, value());
            skipSpace();
            char next = text.charAt(pos++);
            if (next == '}') return o;
            if (next != ',') throw error("',' or '}' expected in an object");
        }
    }

    private ArrayNode array() {
        ArrayNode a = NODES.arrayNode();
        pos++;
        skipSpace();
        if (peek() == ']') {
            pos++;
            return a;
        }
        while (true) {
            a.add(value());
            skipSpace();
            char next = text.charAt(pos++);
            if (next == ']') return a;
            if (next != ',') throw error("',' or ']' expected in an array");
        }
    }

    private String string() {
        char quote = text.charAt(pos++);
        StringBuilder b = new StringBuilder();
        while (true) {
            if (pos >= text.length()) throw error("unterminated string");
            char c = text.charAt(pos++);
            if (c == quote) return b.toString();
            if (c != '\\') {
                b.append(c);
                continue;
            }
            char e = text.charAt(pos++);
            switch (e) {
                case 'n' -> b.append('\n');
                case 't' -> b.append('\t');
                case 'r' -> b.append('\r');
                case 'b' -> b.append('\b');
                case 'f' -> b.append('\f');
                case 'u' -> {
                    b.append((char) Integer.parseInt(text.substring(pos, pos + 4), 16));
                    pos += 4;
                }
                default -> b.append(e);
            }
        }
    }

    private JsonNode number() {
        int start = pos;
        if (peek() == '-' || peek() == '+') pos++;
        while (pos < text.length() && "0123456789.eE+-".indexOf(text.charAt(pos)) >= 0) {
            char c = text.charAt(pos);
            if ((c == '+' || c == '-') && !(text.charAt(pos - 1) == 'e' || text.charAt(pos - 1) == 'E')) break;
            pos++;
        }
        String literal = text.substring(start, pos);
        try {
            if (literal.matches("[-+]?\\d+") && literal.length() < 18) return NODES.numberNode(Long.parseLong(literal));
            return NODES.numberNode(Double.parseDouble(literal));
        } catch (NumberFormatException e) {
            throw error("'" + literal + "' is not a number");
        }
    }

    private String digits() {
        int start = pos;
        while (pos < text.length() && Character.isDigit(text.charAt(pos))) pos++;
        return text.substring(start, pos);
    }

    private String identifier() {
        int start = pos;
        while (pos < text.length() && (Character.isLetterOrDigit(text.charAt(pos)) || text.charAt(pos) == '_' || text.charAt(pos) == '$')) pos++;
        if (pos == start) throw error("unexpected '" + peek() + "'");
        return text.substring(start, pos);
    }

    private void expect(char c) {
        if (peek() != c) throw error("'" + c + "' expected");
        pos++;
    }

    private char peek() {
        if (pos >= text.length()) throw error("the text ended");
        return text.charAt(pos);
    }

    private void skipSpace() {
        while (pos < text.length() && Character.isWhitespace(text.charAt(pos))) pos++;
    }

    private MembraneException error(String what) {
        return new MembraneException(source + ": not a JavaScript literal at offset " + pos + ": " + what);
    }
}

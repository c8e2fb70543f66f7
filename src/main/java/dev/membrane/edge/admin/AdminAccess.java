package dev.membrane.edge.admin;

import jakarta.inject.Inject;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.logging.Logger;

import org.jboss.resteasy.reactive.server.ServerRequestFilter;

import dev.membrane.edge.GatewayState;

/**
 * The admin API's gate, before any resource: without a configured token the API does not exist (404); a missing
 * or wrong bearer token is 401 and logged without the token; a body over {@code membrane.admin.max-body-bytes}
 * is 413 before it is read. {@code /q/health} and {@code /q/metrics} are not REST resources and stay open.
 */
public class AdminAccess {
    private static final Logger LOG = Logger.getLogger(AdminAccess.class.getName());

    @Inject
    GatewayState state;

    @ServerRequestFilter(preMatching = true)
    public Optional<Response> check(ContainerRequestContext request) {
        String path = request.getUriInfo().getPath();
        if (!path.startsWith("/api")) return Optional.empty();
        GatewayState.Admin admin = state.admin();
        if (admin == null || admin.token() == null) return Optional.of(Response.status(Response.Status.NOT_FOUND).build());
        String header = request.getHeaderString(HttpHeaders.AUTHORIZATION);
        // the scheme is case-insensitive (RFC 7235)
        String given = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7).strip() : null;
        if (given == null || !MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), admin.token().getBytes(StandardCharsets.UTF_8))) {
            // the path is the caller's: no line breaks from it reach the log
            LOG.warning("admin API: " + (given == null ? "no bearer token" : "a wrong bearer token") + " for " + request.getMethod() + " "
                    + path.replaceAll("[\\p{Cntrl}]", "?"));
            return Optional.of(Response.status(Response.Status.UNAUTHORIZED).header(HttpHeaders.WWW_AUTHENTICATE, "Bearer realm=\"membrane\"")
                    .entity(AdminErrors.body("a valid bearer token is required")).type("application/json").build());
        }
        int length = request.getLength();
        if (length > admin.maxBodyBytes()) {
            return Optional.of(Response.status(Response.Status.REQUEST_ENTITY_TOO_LARGE)
                    .entity(AdminErrors.body("request body of " + length + " bytes is over " + admin.maxBodyBytes())).type("application/json").build());
        }
        return Optional.empty();
    }
}

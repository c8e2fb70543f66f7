package dev.membrane.edge.admin;

import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

import org.eclipse.microprofile.openapi.annotations.Operation;

import dev.membrane.edge.GatewayState;

/**
 * The policy playground's three static files, from the classpath: no build toolchain, no token to load them (the
 * page asks for it and sends it on its API calls). Like the admin API, it does not exist without a configured
 * token (404). A strict Content-Security-Policy: scripts and styles from here only, images only as data URIs.
 */
@Path("/playground")
public class PlaygroundPage {
    private static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src data:; connect-src 'self'; "
            + "form-action 'none'; frame-ancestors 'none'; base-uri 'none'";
    private static final Map<String, String> FILES = Map.of("index.html", "text/html; charset=utf-8",
            "playground.js", "text/javascript; charset=utf-8", "playground.css", "text/css; charset=utf-8");

    @Inject
    GatewayState state;

    @GET
    @Operation(summary = "The policy playground page (404 without an admin token configured)")
    public Response page() {
        return file("index.html");
    }

    @GET
    @Path("/{file}")
    @Operation(hidden = true)
    public Response file(@PathParam("file") String name) {
        GatewayState.Admin admin = state.admin();
        String type = FILES.get(name);
        if (admin == null || admin.token() == null || type == null) throw new NotFoundException();
        return Response.ok(read(name), type).header("Content-Security-Policy", CSP).header("X-Content-Type-Options", "nosniff")
                .header("Cache-Control", "no-store").header("Referrer-Policy", "no-referrer").build();
    }

    private static byte[] read(String name) {
        try (InputStream in = PlaygroundPage.class.getResourceAsStream("playground/" + name)) {
            if (in == null) throw new IllegalStateException("playground/" + name + " is not on the classpath");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

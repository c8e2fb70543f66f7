package dev.membrane.edge.admin;

import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.security.SecurityRequirement;
import org.eclipse.microprofile.openapi.annotations.security.SecurityScheme;
import org.eclipse.microprofile.openapi.annotations.enums.SecuritySchemeType;

import dev.membrane.MembraneException;
import dev.membrane.edge.GatewayState;
import dev.membrane.gateway.ServedModel;
import dev.membrane.gateway.playground.CompareRequest;
import dev.membrane.gateway.playground.Comparison;
import dev.membrane.policy.OutputCheck;
import dev.membrane.policy.PolicyDecision;
import dev.membrane.spm.AdapterPipeline;
import dev.membrane.spm.catalog.CatalogEntry;

/**
 * The admin API for the platform and compliance teams: what is served, what the catalog pins, which policy is in
 * force, and what a prompt would get under a tenant and app, without generating. Behind {@link AdminAccess}.
 */
@Path("/api")
@Produces(MediaType.APPLICATION_JSON)
@SecurityScheme(securitySchemeName = "bearer", type = SecuritySchemeType.HTTP, scheme = "bearer",
        description = "membrane.admin.token or membrane.admin.token-file")
@SecurityRequirement(name = "bearer")
public class AdminResource {
    @Inject
    GatewayState state;

    /** Each instance answers for itself: the policy in force here. */
    @org.eclipse.microprofile.config.inject.ConfigProperty(name = "membrane.gateway.instance-id", defaultValue = "membrane-local")
    String instance;

    /** A served model. */
    public record ModelView(String id, Map<String, String> fileSha256, String device, String executionProvider, int slots,
                            Map<String, String> classifier) {
    }

    /** A catalog entry and whether its file loads and matches its pin now. */
    public record AdapterView(String id, String category, List<String> prompts, String file, String sha256, String transport,
                              boolean verified, String error) {
    }

    /** One policy of the document in force. */
    public record PolicyView(String id, boolean servable, String refusal, List<String> concepts, String stacking,
                             boolean storePrompts, boolean promptCheck, String outputClassifier) {
    }

    /** A named tenant: its own policy (or null: the default) and its named apps' policies. */
    public record TenantView(String policy, Map<String, String> apps) {
    }

    /** The document in force; {@code tenants} and {@code defaultPolicy} say who gets which policy (the playground's picker). */
    public record PoliciesView(String instance, String version, String sha256, String source, String lastReloadError, String defaultPolicy,
                               Map<String, TenantView> tenants, List<PolicyView> policies) {
    }

    /** {@code POST /api/preview}'s body. */
    public record PreviewRequest(String tenant, String app, String prompt, String model) {
    }

    /** An adapter as the prompt would get it. */
    public record AdapterScore(String concept, String category, String sha256, Double sf, Double st, double gamma) {
    }

    /** The decision for a prompt, without generating. */
    public record Preview(String policy, String policyVersion, String refusal, String promptBlocked, String model,
                          List<AdapterScore> adapters, Map<String, Object> outputCheck) {
    }

    /** An image of a compare, base64 PNG. */
    public record ImageView(String mediaType, String data, String sha256) {
    }

    /** {@code POST /api/compare}'s answer. */
    public record CompareView(String requestId, String status, String code, String reason, String policy, String policyVersion, String model,
                              long seed, int steps, int width, int height, ImageView base, ImageView moderated, List<AdapterScore> adapters,
                              Map<String, Object> outputCheck, Map<String, Double> timingsMs, com.fasterxml.jackson.databind.JsonNode audit) {
    }

    @GET
    @Path("/models")
    @Operation(summary = "The served models: their files' SHA-256, device, adapter slots and output classifier")
    public List<ModelView> models() {
        List<ModelView> out = new ArrayList<>();
        for (ServedModel m : admin().models().values()) {
            var target = m.pipeline().pipeline().target();
            Map<String, String> classifier = m.classifier() == null ? null
                    : Map.of("id", m.classifier().card().id(), "sha256", m.classifier().card().modelSha256());
            out.add(new ModelView(m.id(), m.info().fileSha256(), target.device(), target.provider(), m.slots(), classifier));
        }
        return out;
    }

    @GET
    @Path("/adapters")
    @Operation(summary = "The adapter catalog with its SHA-256 pins, each file verified now")
    public List<AdapterView> adapters() {
        var catalog = admin().catalog();
        List<AdapterView> out = new ArrayList<>();
        for (CatalogEntry e : catalog.entries().values()) {
            String error = null;
            try {
                catalog.loadVerified(e.id());
            } catch (MembraneException bad) {
                error = bad.getMessage();
            }
            out.add(new AdapterView(e.id(), e.category(), e.prompts(), String.valueOf(e.file()), e.sha256(),
                    e.transport().kind().name().toLowerCase(java.util.Locale.ROOT) + " " + e.transport().value(), error == null, error));
        }
        return out;
    }

    @GET
    @Path("/policies")
    @Operation(summary = "The policy document in force (version, SHA-256, source), each policy's state, and the last reload error")
    public PoliciesView policies() {
        var store = state.policies();
        var doc = store.document();
        List<PolicyView> out = new ArrayList<>();
        for (var p : doc.policies().values()) {
            PolicyDecision d = store.decision(p.id());
            out.add(new PolicyView(p.id(), !d.refused(), d.refusal(), p.concepts().stream().map(c -> c.conceptId()).toList(),
                    p.stacking().id(), p.storePrompts(), !p.promptCheck().terms().isEmpty() || !p.promptCheck().patterns().isEmpty(),
                    p.outputCheck() == null ? null : p.outputCheck().classifier()));
        }
        Map<String, TenantView> tenants = new java.util.TreeMap<>();
        java.util.Set<String> names = new java.util.TreeSet<>(doc.tenantPolicies().keySet());
        names.addAll(doc.appPolicies().keySet());
        for (String t : names) tenants.put(t, new TenantView(doc.tenantPolicies().get(t), doc.appPolicies().getOrDefault(t, Map.of())));
        return new PoliciesView(instance, doc.version(), doc.sha256(), store.source(), store.lastError(), doc.defaultPolicy(), tenants, out);
    }

    @POST
    @Path("/preview")
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(summary = "What a prompt would get under a tenant and app: the policy, each adapter's s_f, s_t and gamma, the prompt check's verdict, or the refusal")
    public Response preview(PreviewRequest body) {
        Response r = state.withModels(admin -> preview(admin, body));
        if (r == null) throw new jakarta.ws.rs.NotFoundException();
        return r;
    }

    private Response preview(GatewayState.Admin admin, PreviewRequest body) {
        if (body == null || body.prompt() == null || body.prompt().isBlank()) return bad("'prompt' is required");
        if (body.prompt().length() > admin.limits().maxPromptChars()) {
            return bad("'prompt' is longer than " + admin.limits().maxPromptChars() + " characters (membrane.limits.max-prompt-chars)");
        }
        String modelId = body.model() == null ? admin.limits().defaultModel() : body.model();
        ServedModel model = admin.models().get(modelId);
        if (model == null) return bad("unknown model '" + modelId + "' (served: " + admin.models().keySet() + ")");
        PolicyDecision d = state.policies().decide(body.tenant(), body.app());
        String policy = d.policy() == null ? null : d.policy().id();
        String version = d.policy() == null ? null : d.policy().version();
        if (d.refused()) return Response.ok(new Preview(policy, version, d.refusal(), null, modelId, List.of(), null)).build();
        OutputCheck oc = d.policy().outputCheck();
        String classifierId = model.classifier() == null ? null : model.classifier().card().id();
        if (oc != null && !oc.classifier().equals(classifierId)) {
            // as admission refuses it
            return Response.ok(new Preview(policy, version, "policy '" + policy + "' checks outputs with classifier '" + oc.classifier()
                    + "', which model '" + modelId + "' does not load", null, modelId, List.of(), null)).build();
        }
        String blocked = d.policy().promptCheck().match(body.prompt()).orElse(null);
        List<AdapterPipeline.AdapterRequest> requests = d.adapters().stream()
                .map(a -> new AdapterPipeline.AdapterRequest(a.file(), a.transport())).toList();
        List<AdapterPipeline.Applied> scores = model.pipeline().score(body.prompt(), requests);
        List<AdapterScore> adapters = new ArrayList<>();
        for (int i = 0; i < scores.size(); i++) {
            var s = scores.get(i).score();
            var e = d.adapters().get(i).entry();
            adapters.add(new AdapterScore(e.id(), e.category(), scores.get(i).file().sha256(), nan(s.sf()), nan(s.st()), s.gamma()));
        }
        Map<String, Object> check = null;
        if (oc != null) {
            check = new LinkedHashMap<>();
            check.put("classifier", oc.classifier());
            check.put("rules", oc.rules());
        }
        return Response.ok(new Preview(policy, version, null, blocked, modelId, adapters, check)).build();
    }

    @POST
    @Path("/compare")
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(summary = "The image without adapters and the moderated one from the same seed, with gamma per concept, the output check on both, "
            + "timings and the audit record written for it (source playground); 429 while the compare concurrency is used up")
    public Response compare(CompareRequest body, @jakarta.ws.rs.core.Context io.vertx.core.http.HttpServerRequest http) {
        String caller = http == null || http.remoteAddress() == null ? "unknown" : http.remoteAddress().hostAddress();
        Response r = state.withModels(admin -> {
            if (admin.playground() == null) return Response.status(Response.Status.NOT_FOUND).build();
            return view(admin.playground().compare(body, "admin-api " + caller));
        });
        if (r == null) throw new jakarta.ws.rs.NotFoundException();
        return r;
    }

    private static Response view(Comparison c) {
        if (c instanceof Comparison.Invalid i) {
            return Response.status(Response.Status.BAD_REQUEST).entity(AdminErrors.body(i.code() + ": " + i.message())).build();
        }
        if (c instanceof Comparison.Busy b) {
            return Response.status(429).header("Retry-After", "5")
                    .entity(AdminErrors.body(b.limit() + " compare(s) already running (membrane.admin.compare-concurrency); try again")).build();
        }
        if (c instanceof Comparison.Unaudited u) {
            return Response.status(Response.Status.SERVICE_UNAVAILABLE).header("Retry-After", "5").entity(AdminErrors.body(u.message())).build();
        }
        Comparison.Done d = (Comparison.Done) c;
        List<AdapterScore> adapters = d.adapters().stream()
                .map(a -> new AdapterScore(a.concept(), a.category(), a.sha256(), nan(a.sf()), nan(a.st()), a.gamma())).toList();
        Map<String, Object> check = null;
        if (d.outputCheck() != null) {
            check = new LinkedHashMap<>();
            check.put("classifier", d.outputCheck().classifier());
            check.put("base", verdict(d.outputCheck().base()));
            check.put("moderated", verdict(d.outputCheck().moderated()));
        }
        return Response.ok(new CompareView(d.requestId(), d.status(), d.code() == null ? null : d.code().name(), d.reason(), d.policy(),
                d.policyVersion(), d.model(), d.seed(), d.steps(), d.width(), d.height(), image(d.base()), image(d.moderated()), adapters,
                check, d.timingsMs(), d.audit())).build();
    }

    private static ImageView image(Comparison.Image i) {
        return i == null ? null : new ImageView("image/png", java.util.Base64.getEncoder().encodeToString(i.png()), i.sha256());
    }

    private static Map<String, Object> verdict(OutputCheck.Verdict v) {
        if (v == null) return null;
        Map<String, Object> out = new LinkedHashMap<>();
        Map<String, Double> scores = new LinkedHashMap<>();
        v.scores().forEach((label, score) -> scores.put(label, nan(score)));
        out.put("scores", scores);
        out.put("fired", v.fired().stream().map(f -> Map.of("label", f.label(), "score", f.score(), "threshold", f.threshold(),
                "action", f.action().id())).toList());
        out.put("action", v.action().id());
        return out;
    }

    private static Double nan(double v) {
        return Double.isNaN(v) ? null : v;
    }

    private static Response bad(String why) {
        return Response.status(Response.Status.BAD_REQUEST).entity(AdminErrors.body(why)).build();
    }

    private GatewayState.Admin admin() {
        GatewayState.Admin a = state.admin();
        if (a == null) throw new jakarta.ws.rs.NotFoundException();
        return a;
    }
}

package dev.membrane.bench;

import dev.membrane.onnx.reference.ReferencePreset;

/**
 * Floating-point operations of one UNet call of the SD 1.x topology (the reference presets'), counted from the
 * architecture: 2·MACs of every convolution, linear layer and attention matrix product; normalisations,
 * activations and additions (a few percent) are left out. Mirrors {@code UNetGraph}.
 */
public final class UNetFlops {
    private final ReferencePreset p;
    private final int batch;
    private final int context;
    private double flops;

    private UNetFlops(ReferencePreset p, int batch, int context) {
        this.p = p;
        this.batch = batch;
        this.context = context;
    }

    /** FLOPs of one call on a [batch, 4, h, w] latent with a context of {@code context} tokens. */
    public static double count(ReferencePreset p, int batch, int latentH, int latentW, int context) {
        UNetFlops f = new UNetFlops(p, batch, context);
        f.unet(latentH, latentW);
        return f.flops;
    }

    private void conv(int in, int out, int k, int h, int w) {
        flops += 2.0 * batch * h * w * out * in * k * k;
    }

    private void linear(long tokens, int in, int out) {
        flops += 2.0 * batch * tokens * in * out;
    }

    private void unet(int h, int w) {
        int[] ch = p.unetChannels();
        int t = 4 * ch[0];
        flops += 2.0 * batch * (ch[0] * (double) t + (double) t * t); // time embedding
        conv(4, ch[0], 3, h, w);
        int[] hs = new int[4];
        int[] ws = new int[4];
        int ch_ = h, cw = w;
        for (int i = 0; i < 4; i++) {
            hs[i] = ch_;
            ws[i] = cw;
            int in = i == 0 ? ch[0] : ch[i - 1];
            for (int j = 0; j < 2; j++) {
                resnet(j == 0 ? in : ch[i], ch[i], ch_, cw, t);
                if (i < 3) transformer(ch[i], ch_, cw);
            }
            if (i < 3) {
                int nh = (ch_ + 1) / 2;
                int nw = (cw + 1) / 2;
                conv(ch[i], ch[i], 3, nh, nw);
                ch_ = nh;
                cw = nw;
            }
        }
        resnet(ch[3], ch[3], ch_, cw, t);
        transformer(ch[3], ch_, cw);
        resnet(ch[3], ch[3], ch_, cw, t);
        int prev = ch[3];
        for (int i = 0; i < 4; i++) {
            int out = ch[3 - i];
            int in = ch[Math.max(0, 3 - i - 1)];
            int level = 3 - i;
            for (int j = 0; j < 3; j++) {
                int skip = j == 2 ? in : out;
                resnet((j == 0 ? prev : out) + skip, out, hs[level], ws[level], t);
                if (i > 0) transformer(out, hs[level], ws[level]);
            }
            if (i < 3) conv(out, out, 3, hs[level - 1], ws[level - 1]);
            prev = out;
        }
        conv(ch[0], 4, 3, h, w);
    }

    private void resnet(int in, int out, int h, int w, int t) {
        conv(in, out, 3, h, w);
        flops += 2.0 * batch * t * out;
        conv(out, out, 3, h, w);
        if (in != out) conv(in, out, 1, h, w);
    }

    private void transformer(int c, int h, int w) {
        long n = (long) h * w;
        conv(c, c, 1, h, w); // proj_in
        linear(n, c, 3 * c); // attn1 q, k, v
        flops += 2.0 * 2 * batch * n * n * c; // q·kᵀ and probs·v
        linear(n, c, c); // to_out
        linear(n, c, c); // attn2 q
        linear(context, p.textWidth(), 2 * c); // attn2 k, v
        flops += 2.0 * 2 * batch * n * context * c;
        linear(n, c, c);
        linear(n, c, 8 * c); // GEGLU proj
        linear(n, 4 * c, c); // ff.net.2
        conv(c, c, 1, h, w); // proj_out
    }
}

package dev.membrane.diffusion;

/**
 * The prompts of one generation as the text encoder saw them: rows [negative…, positive…] with guidance, else
 * [positive…].
 *
 * @param context embeddings of every row
 * @param ids     token ids of every row
 * @param images  images in the request
 * @param guided  whether the rows hold the unconditional half too
 */
public record EncodedPrompts(TextEmbeddings context, int[][] ids, int images, boolean guided) {
    /** The row of image i's positive prompt. */
    public int positiveRow(int image) {
        return guided ? images + image : image;
    }

    /** The image a UNet batch row belongs to. */
    public int imageOfRow(int row) {
        return guided ? row % images : row;
    }

    /** Image i's positive prompt embedding, [77 · d]. */
    public float[] positiveEmbedding(int image) {
        return context.row(positiveRow(image));
    }

    public int[] positiveIds(int image) {
        return ids[positiveRow(image)];
    }

    public int rows() {
        return context.batch();
    }
}

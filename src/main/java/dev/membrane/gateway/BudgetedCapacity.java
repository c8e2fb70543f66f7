package dev.membrane.gateway;

import dev.membrane.gateway.admission.Admission;
import dev.membrane.gateway.message.GenerationRequestMessage;
import dev.membrane.serving.memory.BatchFit;
import dev.membrane.serving.memory.MemoryModel;

/**
 * Admission's view of a model under a memory budget: how many of a request's images one batch may hold so that
 * its estimated peak ({@link MemoryModel}) stays within the budget of one worker (the gateway's budget divided by
 * its workers, which run batches at the same time). A request none of whose images fits is refused before any
 * work; one whose images do not all fit is split across batches.
 */
public final class BudgetedCapacity implements Admission.ModelCapacity {
    private final int slots;
    private final MemoryModel memory;
    private final long budgetBytesPerBatch;
    private final int maxBatchImages;

    public BudgetedCapacity(int slots, MemoryModel memory, long budgetBytesPerBatch, int maxBatchImages) {
        this.slots = slots;
        this.memory = memory;
        this.budgetBytesPerBatch = budgetBytesPerBatch;
        this.maxBatchImages = maxBatchImages;
    }

    @Override
    public int slots() {
        return slots;
    }

    /** The largest batch of images like this request's: what it and the requests sharing its batch may hold. */
    private BatchFit fit(GenerationRequestMessage r) {
        return memory.fit(r.width(), r.height(), maxBatchImages, r.guidanceScale() > 1.0, budgetBytesPerBatch);
    }

    @Override
    public int imagesPerBatch(GenerationRequestMessage r) {
        BatchFit fit = fit(r);
        return fit.fits() ? fit.imagesPerBatch() : 0;
    }

    @Override
    public String budgetReason(GenerationRequestMessage r) {
        BatchFit fit = fit(r);
        return "one " + r.width() + "x" + r.height() + " image" + (r.guidanceScale() > 1.0 ? " with guidance" : "") + " needs an estimated "
                + (fit.peakBytes() >> 20) + " MB; a batch may use " + (budgetBytesPerBatch >> 20)
                + " MB (membrane.gateway.memory-budget-mb over membrane.gateway.workers)";
    }
}

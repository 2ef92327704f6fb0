#include "dist/grad_sync.h"

#include <mpi.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "autograd/grad_mode.h"
#include "dist/bounded_wait.h"
#include "autograd/hooks.h"
#include "autograd/variable.h"
#include "tensor/error.h"
#include "tensor/memory_format.h"

namespace cardinal::dist {

struct GradSync::State {
    struct Bucket {
        std::vector<int64_t> params;  // indices into State::params
        DType dtype = DType::Float32;
        int64_t numel = 0;
        std::vector<unsigned char> buffer;
        int64_t ready = 0;
        MPI_Request request = MPI_REQUEST_NULL;
    };
    const Comm* comm = nullptr;
    GradSyncOptions options;
    std::vector<Tensor> params;
    std::vector<int64_t> bucket_of;  // per parameter
    std::vector<bool> seen;          // per parameter: its gradient is final in this step
    std::vector<Bucket> buckets;
    size_t next_to_start = 0;
    double weight = 1.0;
    bool active = false;
    int64_t started_in_backward = 0;

    static size_t element_size(DType d) { return d == DType::Float64 ? 8 : 4; }

    // The parameter's grad as a dense tensor (a zero one if backward did not reach it).
    Tensor& dense_grad(int64_t i) {
        AutogradMeta& m = ensure_autograd_meta(params[i]);
        if (!m.grad.defined()) m.grad = zeros(params[i].shape(), params[i].dtype());
        if (!is_dense(m.grad)) m.grad = m.grad.contiguous();
        return m.grad;
    }

    // Packs the bucket's gradients, scaled by this rank's weight, and starts their sum.
    void start(Bucket& b) {
        unsigned char* out = b.buffer.data();
        const size_t es = element_size(b.dtype);
        for (int64_t i : b.params) {
            Tensor& g = dense_grad(i);
            const int64_t n = g.numel();
            if (b.dtype == DType::Float32) {
                const float* src = g.data<float>();
                float* dst = reinterpret_cast<float*>(out);
                const float w = static_cast<float>(weight);
                for (int64_t k = 0; k < n; ++k) dst[k] = src[k] * w;
            } else {
                const double* src = g.data<double>();
                double* dst = reinterpret_cast<double*>(out);
                for (int64_t k = 0; k < n; ++k) dst[k] = src[k] * weight;
            }
            out += n * es;
        }
        comm->check_mpi(MPI_Iallreduce(MPI_IN_PLACE, b.buffer.data(), static_cast<int>(b.numel),
                                       b.dtype == DType::Float64 ? MPI_DOUBLE : MPI_FLOAT, MPI_SUM,
                                       comm->handles().grads, &b.request),
                        "MPI_Iallreduce");
    }

    void on_final(int64_t i) {
        if (!active || seen[i]) return;
        seen[i] = true;
        buckets[bucket_of[i]].ready++;
        if (options.overlap)
            while (next_to_start < buckets.size() &&
                   buckets[next_to_start].ready == static_cast<int64_t>(buckets[next_to_start].params.size())) {
                start(buckets[next_to_start++]);
                ++started_in_backward;
            }
        // OpenMPI moves a non-blocking collective on only inside MPI calls: poke the started ones.
        for (size_t b = 0; b < next_to_start; ++b) {
            int done = 0;
            if (buckets[b].request != MPI_REQUEST_NULL) MPI_Test(&buckets[b].request, &done, MPI_STATUS_IGNORE);
        }
    }
};

GradSync::GradSync(const Comm& comm, std::vector<Tensor> params, const GradSyncOptions& options)
    : s_(std::make_unique<State>()) {
    check<ValueError>(options.bucket_mb > 0, "GradSync: expected bucket_mb > 0, got ", options.bucket_mb);
    s_->comm = &comm;
    s_->options = options;
    s_->params = std::move(params);
    const int64_t n = static_cast<int64_t>(s_->params.size());
    s_->bucket_of.assign(n, -1);
    s_->seen.assign(n, false);
    const double limit = options.bucket_mb * 1024.0 * 1024.0;
    for (int64_t i = n - 1; i >= 0; --i) {
        const Tensor& p = s_->params[i];
        check<ValueError>(is_leaf(p) && requires_grad(p),
                          "GradSync: expected parameters (leaves that require grad), got ", describe(p),
                          " at index ", i);
        check<DTypeError>(p.dtype() == DType::Float32 || p.dtype() == DType::Float64,
                          "GradSync: expected float32 or float64 parameters, got ", dtype_name(p.dtype()),
                          " at index ", i);
        const size_t es = State::element_size(p.dtype());
        // A new bucket when the dtype changes or this parameter would take the last one past the limit.
        const bool fresh = s_->buckets.empty() || s_->buckets.back().dtype != p.dtype() ||
                           static_cast<double>((s_->buckets.back().numel + p.numel()) * es) > limit;
        if (fresh) {
            s_->buckets.emplace_back();
            s_->buckets.back().dtype = p.dtype();
        }
        State::Bucket& b = s_->buckets.back();
        check<ValueError>(b.numel + p.numel() <= INT32_MAX, "GradSync: expected a bucket of at most ", INT32_MAX,
                          " elements, got ", b.numel + p.numel(), "; lower bucket_mb");
        b.params.push_back(i);
        b.numel += p.numel();
        s_->bucket_of[i] = static_cast<int64_t>(s_->buckets.size()) - 1;
    }
    for (auto& b : s_->buckets) b.buffer.resize(b.numel * State::element_size(b.dtype));
    State* state = s_.get();
    for (int64_t i = 0; i < n; ++i)
        register_post_accumulate_hook(s_->params[i], [state, i](const Tensor&) { state->on_final(i); });
}

GradSync::~GradSync() {
    for (auto& b : s_->buckets)
        if (b.request != MPI_REQUEST_NULL) wait_bounded(*s_->comm, b.request, "a gradient bucket (GradSync ending)");
    for (const Tensor& p : s_->params) clear_post_accumulate_hooks(p);
}

void GradSync::begin(double weight) {
    check<ValueError>(weight >= 0 && weight <= 1,
                      "GradSync::begin: expected a share of the global batch in [0, 1], got ", weight);
    check<ValueError>(!s_->active, "GradSync::begin: the previous step was not finished");
    s_->weight = weight;
    s_->active = true;
    s_->next_to_start = 0;
    s_->started_in_backward = 0;
    s_->seen.assign(s_->params.size(), false);
    for (auto& b : s_->buckets) b.ready = 0;
}

void GradSync::finish() {
    check<ValueError>(s_->active, "GradSync::finish: begin() was not called for this step");
    NoGradGuard no_grad;
    while (s_->next_to_start < s_->buckets.size()) s_->start(s_->buckets[s_->next_to_start++]);
    for (size_t k = 0; k < s_->buckets.size(); ++k) {
        State::Bucket& b = s_->buckets[k];
        const std::string what = "the allreduce of gradient bucket " + std::to_string(k + 1) + " of " +
                                 std::to_string(s_->buckets.size());
        wait_bounded(*s_->comm, b.request, what.c_str());
        const unsigned char* in = b.buffer.data();
        const size_t es = State::element_size(b.dtype);
        for (int64_t i : b.params) {
            Tensor& g = s_->dense_grad(i);
            std::memcpy(g.raw_data(), in, g.numel() * es);
            in += g.numel() * es;
        }
    }
    s_->active = false;
}

int64_t GradSync::num_buckets() const { return static_cast<int64_t>(s_->buckets.size()); }
int64_t GradSync::started_during_backward() const { return s_->started_in_backward; }

}  // namespace cardinal::dist

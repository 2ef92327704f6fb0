// Several threads running eval-mode inference on one shared model at the same time get exactly
// (bit for bit) what the same calls give one after another (docs/reliability.md, Concurrency).
//
// The concurrent round runs first, on cold caches (oneDNN primitives, reordered weights, folded
// BatchNorm, converted bf16 sources), so that threads also race to build every cached entry.
// Each thread has its own input, so a result that leaked between threads would show. Every
// thread uses the OpenMP thread count of the sequential round: oneDNN may split reductions
// differently on another count. scripts/sanitize.sh runs these cases under ThreadSanitizer
// (the [threads] tag).
#include <catch2/catch.hpp>
#include <cstring>
#include <exception>
#include <thread>

#include "autograd/grad_mode.h"
#include "autograd/variable.h"
#include "models/resnet.h"
#include "ops/dnnl/conv_dnnl.h"
#include "ops/dnnl/weight_cache.h"
#include "ops/precision.h"
#include "tensor/memory_format.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

using namespace cardinal;

namespace {

constexpr int kThreads = 4;
constexpr int kRepeats = 2;

enum class Mode { NoGrad, GradEnabled, BFloat16 };

bool bit_identical(const Tensor& a, const Tensor& b) {
    const Tensor ac = a.contiguous(), bc = b.contiguous();
    return ac.shape() == bc.shape() && ac.dtype() == bc.dtype() &&
           std::memcmp(ac.raw_data(), bc.raw_data(), ac.numel() * dtype_size(ac.dtype())) == 0;
}

Tensor infer(ResNet& model, const Tensor& x, Mode mode) {
    if (mode == Mode::GradEnabled) return model.forward(x);  // each call records its own graph
    NoGradGuard no_grad;
    if (mode == Mode::BFloat16) {
        ConvPrecisionScope bf16(ConvPrecision::BFloat16);
        return model.forward(x);
    }
    return model.forward(x);
}

void check_concurrent(const std::string& name, Mode mode, MemoryFormat format) {
    INFO("model " << name << ", mode " << static_cast<int>(mode) << ", "
                  << memory_format_name(format));
    Generator gen(11);
    std::shared_ptr<ResNet> model = create_model(name, &gen);
    model->eval();
    std::vector<Tensor> inputs;
    for (int k = 0; k < kThreads; ++k)
        inputs.push_back(to_memory_format(randn({2, 1, 28, 28}, DType::Float32, &gen), format));

    onednn::clear_conv_cache();
    onednn::clear_weight_cache();
    const int omp_threads = get_num_threads();
    std::vector<std::vector<Tensor>> concurrent(kThreads);
    std::vector<std::exception_ptr> errors(kThreads);
    std::vector<std::thread> workers;
    for (int k = 0; k < kThreads; ++k)
        workers.emplace_back([&, k] {
            try {
                set_num_threads(omp_threads);  // OpenMP's thread count is per calling thread
                for (int r = 0; r < kRepeats; ++r) concurrent[k].push_back(infer(*model, inputs[k], mode));
            } catch (...) {
                errors[k] = std::current_exception();
            }
        });
    for (std::thread& t : workers) t.join();
    for (int k = 0; k < kThreads; ++k)
        if (errors[k]) std::rethrow_exception(errors[k]);

    for (int k = 0; k < kThreads; ++k) {
        const Tensor sequential = infer(*model, inputs[k], mode);
        REQUIRE(sequential.shape() == Shape{2, 10});
        for (int r = 0; r < kRepeats; ++r) {
            INFO("thread " << k << ", repeat " << r << ": max |diff| "
                           << max_abs_diff(concurrent[k][r], sequential));
            CHECK(bit_identical(concurrent[k][r], sequential));
        }
    }
}

const std::vector<std::string> kModels{"resnext_small", "seresnext_small", "skresnext_small",
                                       "resnest_small"};

}  // namespace

TEST_CASE("concurrent eval inference on one shared model equals sequential runs",
          "[models][threads]") {
    for (const std::string& name : kModels) {
        check_concurrent(name, Mode::NoGrad, MemoryFormat::Contiguous);
        check_concurrent(name, Mode::NoGrad, MemoryFormat::ChannelsLast);
    }
}

TEST_CASE("concurrent eval forwards that record graphs equal sequential runs", "[models][threads]") {
    // Grad mode on: the unfused path, and every thread wires its graph to the same parameters.
    for (const std::string& name : kModels) check_concurrent(name, Mode::GradEnabled, MemoryFormat::Contiguous);
}

TEST_CASE("concurrent bf16 inference on one shared model equals sequential runs", "[models][threads]") {
    if (!bfloat16_supported()) {
        WARN("this CPU has no native bf16 convolutions (" << cpu_isa_name() << "): case skipped");
        return;
    }
    for (const std::string& name : kModels) check_concurrent(name, Mode::BFloat16, MemoryFormat::Contiguous);
}

#include "ops/precision.h"

#include <oneapi/dnnl/dnnl.hpp>

#include "ops/dnnl/reorder_stats.h"
#include "tensor/error.h"
#include "tensor/memory_format.h"

namespace cardinal {
namespace {

// Per thread: two threads running inference side by side may choose differently.
thread_local ConvPrecision current_precision = ConvPrecision::Float32;

}  // namespace

ConvPrecision conv_precision() { return current_precision; }

ConvPrecisionScope::ConvPrecisionScope(ConvPrecision precision) : previous_(current_precision) {
    check<ValueError>(precision != ConvPrecision::BFloat16 || bfloat16_supported(),
                      "bfloat16 convolutions need a CPU with AVX512-BF16 or AMX; oneDNN sees ",
                      cpu_isa_name());
    current_precision = precision;
}

ConvPrecisionScope::~ConvPrecisionScope() { current_precision = previous_; }

bool bfloat16_supported() {
    const auto isa = dnnl::get_effective_cpu_isa();
    return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

Tensor float32_activation(const Tensor& t) {
    if (!t.defined() || t.dtype() != DType::BFloat16) return t;
    Tensor out = empty_with_layout_of(t, t.shape(), DType::Float32);
    out.copy_(t);
    onednn::count_reorders();
    return out;
}

const char* cpu_isa_name() {
    switch (dnnl::get_effective_cpu_isa()) {
        case dnnl::cpu_isa::sse41: return "sse41";
        case dnnl::cpu_isa::avx: return "avx";
        case dnnl::cpu_isa::avx2: return "avx2";
        case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
        case dnnl::cpu_isa::avx512_mic: return "avx512_mic";
        case dnnl::cpu_isa::avx512_mic_4ops: return "avx512_mic_4ops";
        case dnnl::cpu_isa::avx512_core: return "avx512_core";
        case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
        case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
        case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
        default: return "a CPU without AVX";
    }
}

}  // namespace cardinal

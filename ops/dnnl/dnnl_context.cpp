#include "ops/dnnl/dnnl_context.h"

namespace cardinal::onednn {

// Function-local statics: created on first use, thread-safe initialisation.
dnnl::engine& cpu_engine() {
    static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    return engine;
}

dnnl::stream& cpu_stream() {
    thread_local dnnl::stream stream(cpu_engine());
    return stream;
}

}  // namespace cardinal::onednn

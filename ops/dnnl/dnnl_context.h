// The oneDNN CPU engine every primitive of the process runs on, and each thread's stream.
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

namespace cardinal::onednn {

// One engine for the process: oneDNN engines and primitives may be used from several threads at
// once (docs/reliability.md, Concurrency).
dnnl::engine& cpu_engine();
// The calling thread's in-order stream on cpu_engine(). A oneDNN stream is not safe to use from
// two threads at once, so every thread gets its own (threads running inference on one shared
// model never share one). Ops execute and then wait(), so a stream holds no state between calls.
dnnl::stream& cpu_stream();

}  // namespace cardinal::onednn

// The one oneDNN CPU engine and stream every primitive of the process runs on.
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

namespace cardinal::onednn {

dnnl::engine& cpu_engine();
// In-order stream on cpu_engine(). Ops execute and then wait(), so the stream holds no state
// between calls.
dnnl::stream& cpu_stream();

}  // namespace cardinal::onednn

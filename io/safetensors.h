// safetensors: the tensor file format timm and Hugging Face publish weights in.
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON, then the data area.
//   {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value", ...}}
// Offsets are in bytes relative to the start of the data area; elements are row-major,
// little-endian.
//
// Reading validates the whole header (types, dtypes, sizes, spans inside the data area and not
// overlapping, no duplicate names) before allocating anything the file describes, so a hostile
// or truncated file costs at most its own size in memory and ends in a FormatError that names
// the file, the tensor and what was expected. F32, F64 and I64 load as they are; F16 and BF16
// are converted to float32. Gaps between spans and bytes after the last span are allowed.
//
// Writing supports float32, float64 and int64 tensors and is atomic: the bytes go to a
// temporary file in the target's directory, are flushed and fsync'ed, then renamed over the
// target. On any failure the temporary file is removed and the target is left untouched.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tensor/named_tensors.h"
#include "tensor/tensor.h"

namespace cardinal {

struct SafetensorsFile {
    std::string path;                             // the file it was read from (for messages)
    NamedTensors tensors;                         // in header order
    std::map<std::string, std::string> metadata;  // the "__metadata__" object (may be empty)

    bool contains(const std::string& name) const;
    // The tensor called `name`; FormatError naming the file and the name when absent.
    const Tensor& get(const std::string& name) const;
    std::vector<std::string> names() const;  // in header order
};

struct LoadOptions {
    // Only these tensors are read (all when empty). A listed name missing from the file is a
    // FormatError. The header is validated in full either way.
    std::vector<std::string> names;
};

SafetensorsFile load_safetensors(const std::string& path, const LoadOptions& options = {});

// Writes `tensors` (float32, float64 or int64; any strides) in the given order; the header lists
// them in the same order. Names must be unique, non-empty and not "__metadata__".
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// IEEE half and bfloat16 bit patterns to float (exact: every value is representable).
float half_to_float(uint16_t bits);
float bfloat16_to_float(uint16_t bits);

}  // namespace cardinal

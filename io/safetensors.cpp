#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tensor/escape.h"

namespace cardinal {

// The data area is copied byte for byte into tensors, so the host must share the file's order.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes little endian");

namespace {

using json = nlohmann::json;

// A header is a few KB per thousand tensors; anything near this cap is not a weight file.
constexpr uint64_t kMaxHeaderBytes = uint64_t{100} << 20;
// Real headers nest three deep; a deeper one is hostile (and deep trees cost stack elsewhere).
constexpr int kMaxJsonDepth = 16;
const char* const kMetadataKey = "__metadata__";

struct FileDType {
    const char* name;
    size_t size;   // bytes per element in the file
    DType loaded;  // the tensor dtype it becomes
};
const FileDType kFileDTypes[] = {{"F32", 4, DType::Float32},
                                 {"F64", 8, DType::Float64},
                                 {"I64", 8, DType::Int64},
                                 {"F16", 2, DType::Float32},
                                 {"BF16", 2, DType::Float32}};

const char* file_dtype_name(DType t) {
    switch (t) {
        case DType::Float32: return "F32";
        case DType::Float64: return "F64";
        case DType::Int64: return "I64";
        case DType::BFloat16: return "BF16";
    }
    return "?";
}

// One validated header entry.
struct Entry {
    std::string name;
    const FileDType* dtype;
    Shape shape;
    uint64_t begin, end;  // relative to the data area
};

template <typename... Args>
[[noreturn]] void bad_file(const std::string& path, const Args&... args) {
    // Names, keys and parser excerpts come from the file: escaped, so a hostile file cannot put
    // terminal escapes or raw bytes on the user's screen.
    std::ostringstream os;
    detail::append_all(os, "safetensors file '", path, "': ", args...);
    throw FormatError(escape_for_message(os.str()));
}

std::string errno_text() { return std::strerror(errno); }

// Owns a FILE*; closes it on every path out.
class FileHandle {
public:
    FileHandle(std::FILE* f) : f_(f) {}
    ~FileHandle() { close(); }
    FileHandle(const FileHandle&) = delete;
    FileHandle& operator=(const FileHandle&) = delete;
    std::FILE* get() const { return f_; }
    int close() {
        std::FILE* f = f_;
        f_ = nullptr;
        return f ? std::fclose(f) : 0;
    }

private:
    std::FILE* f_;
};

void read_exact(std::FILE* f, void* dst, uint64_t offset, uint64_t nbytes, const std::string& path,
                const std::string& what) {
    if (nbytes == 0) return;
    if (fseeko(f, static_cast<off_t>(offset), SEEK_SET) != 0)
        bad_file(path, "cannot seek to byte ", offset, " for ", what, ": ", errno_text());
    size_t got = std::fread(dst, 1, nbytes, f);
    if (got != nbytes)
        bad_file(path, "truncated while reading ", what, ": expected ", nbytes, " bytes at byte ",
                 offset, ", read ", got);
}

const char* json_type(const json& j) { return j.type_name(); }

// Parses the header text, refusing duplicate keys at any level (nlohmann would keep the last
// silently) and deep nesting. Returns the top-level keys in file order.
json parse_header(const std::string& text, const std::string& path,
                  std::vector<std::string>& order) {
    std::vector<std::set<std::string>> seen;  // keys of each open object
    auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
        if (depth > kMaxJsonDepth)
            bad_file(path, "header JSON nests deeper than ", kMaxJsonDepth, " levels");
        switch (event) {
            case json::parse_event_t::object_start: seen.emplace_back(); break;
            case json::parse_event_t::object_end: seen.pop_back(); break;
            case json::parse_event_t::key: {
                const auto& key = parsed.get_ref<const std::string&>();
                if (!seen.back().insert(key).second) {
                    if (depth == 1)
                        bad_file(path, "duplicate tensor name '", key, "' in the header");
                    bad_file(path, "duplicate key '", key, "' inside a header object");
                }
                if (depth == 1) order.push_back(key);
                break;
            }
            default: break;
        }
        return true;
    };
    try {
        return json::parse(text, callback);
    } catch (const json::exception& e) {
        bad_file(path, "header is not valid JSON (", e.what(), ")");
    }
}

// Reads a JSON integer that must be in [0, max].
uint64_t read_count(const json& j, uint64_t max, const std::string& path, const std::string& name,
                    const char* field) {
    if (!j.is_number_integer())
        bad_file(path, "tensor '", name, "': ", field, " must hold non-negative integers, found ",
                 json_type(j), " ", j.dump());
    if (!j.is_number_unsigned())  // nlohmann stores non-negative integers as unsigned
        bad_file(path, "tensor '", name, "': ", field, " must be non-negative, found ", j.dump());
    uint64_t v = j.get<uint64_t>();
    if (v > max)
        bad_file(path, "tensor '", name, "': ", field, " value ", v, " is larger than ", max);
    return v;
}

Entry validate_entry(const std::string& name, const json& e, uint64_t data_size,
                     const std::string& path) {
    if (!e.is_object())
        bad_file(path, "tensor '", name, "': expected an object with dtype, shape and "
                 "data_offsets, found ", json_type(e));
    for (const auto& [key, value] : e.items()) {
        if (key != "dtype" && key != "shape" && key != "data_offsets")
            bad_file(path, "tensor '", name, "': unexpected field '", key,
                     "' (expected exactly dtype, shape and data_offsets)");
    }
    for (const char* key : {"dtype", "shape", "data_offsets"}) {
        if (!e.contains(key)) bad_file(path, "tensor '", name, "': missing field '", key, "'");
    }
    Entry entry{name, nullptr, {}, 0, 0};

    const json& dt = e["dtype"];
    if (!dt.is_string())
        bad_file(path, "tensor '", name, "': dtype must be a string, found ", json_type(dt));
    const auto& dt_name = dt.get_ref<const std::string&>();
    for (const auto& fd : kFileDTypes) {
        if (dt_name == fd.name) entry.dtype = &fd;
    }
    if (!entry.dtype)
        bad_file(path, "tensor '", name, "': unsupported dtype '", dt_name,
                 "' (supported: F32, F64, I64, F16, BF16)");

    const json& shape = e["shape"];
    if (!shape.is_array())
        bad_file(path, "tensor '", name, "': shape must be an array, found ", json_type(shape));
    uint64_t numel = 1;
    for (const auto& d : shape) {
        uint64_t size = read_count(d, std::numeric_limits<int64_t>::max(), path, name, "shape");
        entry.shape.push_back(static_cast<int64_t>(size));
        if (__builtin_mul_overflow(numel, size, &numel) ||
            numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            bad_file(path, "tensor '", name, "': shape ", shape.dump(),
                     " has more elements than fit in int64");
    }
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(numel, uint64_t{entry.dtype->size}, &nbytes))
        bad_file(path, "tensor '", name, "': shape ", shape.dump(), " of ", dt_name,
                 " needs more bytes than fit in 64 bits");

    const json& offs = e["data_offsets"];
    if (!offs.is_array() || offs.size() != 2)
        bad_file(path, "tensor '", name, "': data_offsets must be an array [begin, end], found ",
                 offs.dump());
    uint64_t any = std::numeric_limits<uint64_t>::max();
    entry.begin = read_count(offs[0], any, path, name, "data_offsets");
    entry.end = read_count(offs[1], any, path, name, "data_offsets");
    if (entry.begin > entry.end)
        bad_file(path, "tensor '", name, "': data_offsets [", entry.begin, ", ", entry.end,
                 "] has begin > end");
    if (entry.end - entry.begin != nbytes)
        bad_file(path, "tensor '", name, "': shape ", shape.dump(), " of ", dt_name, " needs ",
                 nbytes, " bytes but data_offsets [", entry.begin, ", ", entry.end, "] span ",
                 entry.end - entry.begin);
    if (entry.end > data_size)
        bad_file(path, "tensor '", name, "': data_offsets [", entry.begin, ", ", entry.end,
                 "] run past the end of the data area (", data_size,
                 " bytes; file truncated or offsets out of range)");
    return entry;
}

std::map<std::string, std::string> read_metadata(const json& m, const std::string& path) {
    if (!m.is_object())
        bad_file(path, "__metadata__ must be an object of strings, found ", json_type(m));
    std::map<std::string, std::string> out;
    for (const auto& [key, value] : m.items()) {
        if (!value.is_string())
            bad_file(path, "__metadata__ value '", key, "' must be a string, found ",
                     json_type(value));
        out[key] = value.get<std::string>();
    }
    return out;
}

// Spans of non-empty tensors must not share bytes.
void check_no_overlap(std::vector<const Entry*> spans, const std::string& path) {
    spans.erase(std::remove_if(spans.begin(), spans.end(),
                               [](const Entry* e) { return e->begin == e->end; }),
                spans.end());
    std::sort(spans.begin(), spans.end(),
              [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
    for (size_t i = 1; i < spans.size(); ++i) {
        const Entry& a = *spans[i - 1];
        const Entry& b = *spans[i];
        if (b.begin < a.end)
            bad_file(path, "tensors '", a.name, "' [", a.begin, ", ", a.end, ") and '", b.name,
                     "' [", b.begin, ", ", b.end, ") overlap in the data area");
    }
}

// The first n 16-bit values at p become n floats at p (the buffer holds 4n bytes). Walks
// backwards so that each float overwrites only 16-bit values already converted.
void widen_in_place(void* p, int64_t n, float (*convert)(uint16_t)) {
    auto* bytes = static_cast<unsigned char*>(p);
    for (int64_t i = n - 1; i >= 0; --i) {
        uint16_t h;
        std::memcpy(&h, bytes + 2 * i, 2);
        float f = convert(h);
        std::memcpy(bytes + 4 * i, &f, 4);
    }
}

}  // namespace

float half_to_float(uint16_t bits) {
    const uint32_t sign = uint32_t(bits >> 15) << 31;
    const uint32_t exponent = (bits >> 10) & 0x1f;
    const uint32_t mantissa = bits & 0x3ff;
    uint32_t out;
    if (exponent == 0) {
        // Zero or subnormal: mantissa * 2^-24, exact in float.
        float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
        return sign ? -magnitude : magnitude;
    } else if (exponent == 0x1f) {
        out = sign | 0x7f800000u | (mantissa << 13);  // inf, or NaN keeping its payload
    } else {
        out = sign | ((exponent - 15 + 127) << 23) | (mantissa << 13);
    }
    return std::bit_cast<float>(out);
}

float bfloat16_to_float(uint16_t bits) { return std::bit_cast<float>(uint32_t{bits} << 16); }

bool SafetensorsFile::contains(const std::string& name) const {
    for (const auto& [n, t] : tensors) {
        if (n == name) return true;
    }
    return false;
}

const Tensor& SafetensorsFile::get(const std::string& name) const {
    for (const auto& [n, t] : tensors) {
        if (n == name) return t;
    }
    fail<FormatError>("safetensors file '", path, "': no tensor named '", name, "' (",
                      tensors.size(), " tensors loaded)");
}

std::vector<std::string> SafetensorsFile::names() const {
    std::vector<std::string> out;
    for (const auto& [n, t] : tensors) out.push_back(n);
    return out;
}

SafetensorsFile load_safetensors(const std::string& path, const LoadOptions& options) {
    FileHandle file(std::fopen(path.c_str(), "rb"));
    if (!file.get()) bad_file(path, "cannot open: ", errno_text());
    struct stat st {};
    if (fstat(fileno(file.get()), &st) != 0) bad_file(path, "cannot stat: ", errno_text());
    if (!S_ISREG(st.st_mode)) bad_file(path, "not a regular file");
    const uint64_t file_size = static_cast<uint64_t>(st.st_size);
    if (file_size < 8)
        bad_file(path, "file is ", file_size, " bytes, too short for the 8-byte header length");

    unsigned char len_bytes[8];
    read_exact(file.get(), len_bytes, 0, 8, path, "the header length");
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
    if (header_len > file_size - 8)
        bad_file(path, "header length ", header_len, " exceeds the ", file_size - 8,
                 " bytes after the length field");
    if (header_len > kMaxHeaderBytes)
        bad_file(path, "header length ", header_len, " exceeds the limit of ", kMaxHeaderBytes,
                 " bytes");
    if (header_len < 2) bad_file(path, "header length ", header_len, " is too short for JSON");

    std::string text(header_len, '\0');  // bounded by the file's real size
    read_exact(file.get(), text.data(), 8, header_len, path, "the header");
    std::vector<std::string> order;
    json header = parse_header(text, path, order);
    text = std::string();
    if (!header.is_object())
        bad_file(path, "header must be a JSON object, found ", json_type(header));

    const uint64_t data_start = 8 + header_len;
    const uint64_t data_size = file_size - data_start;
    SafetensorsFile out;
    out.path = path;
    std::vector<Entry> entries;
    entries.reserve(order.size());
    for (const auto& name : order) {
        if (name == kMetadataKey) {
            out.metadata = read_metadata(header[name], path);
        } else {
            entries.push_back(validate_entry(name, header[name], data_size, path));
        }
    }
    std::vector<const Entry*> spans;
    for (const auto& e : entries) spans.push_back(&e);
    check_no_overlap(spans, path);

    std::vector<const Entry*> wanted;
    if (options.names.empty()) {
        for (const auto& e : entries) wanted.push_back(&e);  // header order
    } else {
        for (const auto& name : options.names) {
            auto it = std::find_if(entries.begin(), entries.end(),
                                   [&](const Entry& e) { return e.name == name; });
            if (it == entries.end())
                bad_file(path, "no tensor named '", name, "' (the file holds ", entries.size(),
                         " tensors)");
            wanted.push_back(&*it);
        }
    }

    // Everything the header claims now lies inside the file: allocation is bounded by its size.
    for (const Entry* e : wanted) {
        Tensor t = empty(e->shape, e->dtype->loaded);
        read_exact(file.get(), t.raw_data(), data_start + e->begin, e->end - e->begin, path,
                   "tensor '" + e->name + "'");
        const std::string dt = e->dtype->name;
        if (dt == "F16") widen_in_place(t.raw_data(), t.numel(), half_to_float);
        if (dt == "BF16") widen_in_place(t.raw_data(), t.numel(), bfloat16_to_float);
        out.tensors.emplace_back(e->name, std::move(t));
    }
    return out;
}

namespace {

// Writes everything to an open temporary file; throws on the first failed call.
void write_all(std::FILE* f, const void* p, size_t n, const std::string& path) {
    if (n != 0 && std::fwrite(p, 1, n, f) != n)
        fail<FormatError>("save_safetensors '", path, "': write failed: ", errno_text());
}

// Best effort: makes the rename itself durable.
void sync_directory(const std::string& dir) {
    int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        ::close(fd);
    }
}

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
    // Validate and build the header before touching the file system.
    std::set<std::string> seen;
    std::vector<Tensor> data;
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty()) header[kMetadataKey] = metadata;
    uint64_t offset = 0;
    for (const auto& [name, t] : tensors) {
        check<ValueError>(!name.empty() && name != kMetadataKey, "save_safetensors '", path,
                          "': invalid tensor name '", name, "'");
        check<ValueError>(seen.insert(name).second, "save_safetensors '", path,
                          "': duplicate tensor name '", name, "'");
        check<ValueError>(t.defined(), "save_safetensors '", path, "': tensor '", name,
                          "' is undefined");
        Tensor c = t.contiguous();
        uint64_t nbytes = static_cast<uint64_t>(c.numel()) * dtype_size(c.dtype());
        header[name] = {{"dtype", file_dtype_name(c.dtype())},
                        {"shape", c.shape()},
                        {"data_offsets", {offset, offset + nbytes}}};
        offset += nbytes;
        data.push_back(std::move(c));
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data area 8-byte aligned
    unsigned char len_bytes[8];
    for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(text.size() >> (8 * i));

    std::string tmp = path + ".tmp-XXXXXX";
    int fd = mkstemp(tmp.data());
    if (fd < 0)
        fail<FormatError>("save_safetensors '", path, "': cannot create a temporary file next to "
                          "it: ", errno_text());
    fchmod(fd, 0644);
    FileHandle file(fdopen(fd, "wb"));
    try {
        if (!file.get()) {
            ::close(fd);
            fail<FormatError>("save_safetensors '", path, "': fdopen failed: ", errno_text());
        }
        write_all(file.get(), len_bytes, 8, path);
        write_all(file.get(), text.data(), text.size(), path);
        for (const Tensor& t : data)
            write_all(file.get(), t.raw_data(), static_cast<size_t>(t.numel()) *
                      dtype_size(t.dtype()), path);
        if (std::fflush(file.get()) != 0)
            fail<FormatError>("save_safetensors '", path, "': flush failed: ", errno_text());
        if (fsync(fileno(file.get())) != 0)
            fail<FormatError>("save_safetensors '", path, "': fsync failed: ", errno_text());
        if (file.close() != 0)
            fail<FormatError>("save_safetensors '", path, "': close failed: ", errno_text());
        if (std::rename(tmp.c_str(), path.c_str()) != 0)
            fail<FormatError>("save_safetensors '", path, "': cannot rename the temporary file "
                              "into place: ", errno_text());
    } catch (...) {
        file.close();
        std::remove(tmp.c_str());
        throw;
    }
    auto slash = path.find_last_of('/');
    sync_directory(slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash));
}

}  // namespace cardinal

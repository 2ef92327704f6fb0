#include "tensor/parallel.h"

#include <omp.h>

#include <cstdlib>
#include <string>

#include "tensor/error.h"

namespace cardinal {
namespace {
int env_threads() {
    const char* s = std::getenv("CARDINAL_NUM_THREADS");
    if (!s || !*s) return 0;
    char* end = nullptr;
    long v = std::strtol(s, &end, 10);
    if (*end != '\0' || v < 1 || v > 4096)
        fail<ValueError>("CARDINAL_NUM_THREADS: expected a whole number from 1 to 4096, got '", s, "'");
    return static_cast<int>(v);
}
// Applied once, before main, so every OpenMP region honours the environment knob.
const int kStartupThreads = [] {
    int n = env_threads();
    if (n > 0) omp_set_num_threads(n);
    return n;
}();
}  // namespace

void set_num_threads(int n) {
    check<ValueError>(n >= 1, "set_num_threads: expected at least 1 thread, got ", n);
    omp_set_num_threads(n);
}

int get_num_threads() { return omp_get_max_threads(); }

}  // namespace cardinal

#include "tensor/parallel.h"

#include <omp.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "tensor/error.h"
#include "tensor/escape.h"

namespace cardinal {
namespace {
// The value of CARDINAL_NUM_THREADS, or 0 when unset; `error` explains a bad value.
int env_threads(std::string& error) {
    const char* s = std::getenv("CARDINAL_NUM_THREADS");
    if (!s || !*s) return 0;
    char* end = nullptr;
    errno = 0;
    long v = std::strtol(s, &end, 10);
    if (*end != '\0' || errno != 0 || v < 1 || v > 4096) {
        error = std::string("CARDINAL_NUM_THREADS: expected a whole number from 1 to 4096, got '") +
                escape_for_message(s) + "'";
        return 0;
    }
    return static_cast<int>(v);
}
// Read once, before main, so every OpenMP region honours the environment knob. Nothing may
// throw here: an exception during static initialisation kills every program linking the
// library ("terminate called", exit 134) before it can say why. A bad value is kept instead
// and reported by check_thread_environment(); until then OpenMP's default holds.
struct StartupThreads {
    std::string error;
    StartupThreads() {
        const int n = env_threads(error);
        if (n > 0) omp_set_num_threads(n);
    }
};
const StartupThreads& startup() {
    static const StartupThreads s;
    return s;
}
const StartupThreads& kStartup = startup();
}  // namespace

void set_num_threads(int n) {
    check<ValueError>(n >= 1, "set_num_threads: expected at least 1 thread, got ", n);
    omp_set_num_threads(n);
}

int get_num_threads() { return omp_get_max_threads(); }

void check_thread_environment() {
    check<ValueError>(startup().error.empty(), startup().error);
}

}  // namespace cardinal

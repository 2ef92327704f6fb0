// One knob for threads: set_num_threads() (or CARDINAL_NUM_THREADS at start-up) sets OpenMP,
// which drives our loops, Eigen and Debian's oneDNN (built with the OpenMP runtime) alike.
#pragma once
#include <cstdint>

namespace cardinal {

void set_num_threads(int n);
int get_num_threads();

// Throws ValueError naming the value when CARDINAL_NUM_THREADS was set but is not a whole number
// from 1 to 4096 (the variable is then ignored). Programs call it first thing; the library never
// throws at start-up.
void check_thread_environment();

// Below this many elements a loop runs on one thread: forking costs more than it saves.
constexpr int64_t kParallelGrain = 32768;

}  // namespace cardinal

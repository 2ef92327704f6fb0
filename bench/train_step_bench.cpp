// Time of one training step (forward, cross-entropy, backward) of a named model on random
// data: the number that decides how long `cardinal train` takes.
//   bench_train_step_bench [model=resnest_small] [batch=128] [size=28] [reps=20]
#include <time.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>
#include <algorithm>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "models/resnet.h"
#include "ops/loss.h"
#include "tensor/allocator.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

using namespace cardinal;
using Clock = std::chrono::steady_clock;

// CPU seconds of the whole process: on a shared machine, preemption inflates wall time but not
// this (with one thread it is the wall time an idle machine would show).
double cpu_seconds() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

int main(int argc, char** argv) {
    std::string name = argc > 1 ? argv[1] : "resnest_small";
    int64_t batch = argc > 2 ? std::stoll(argv[2]) : 128;
    int64_t size = argc > 3 ? std::stoll(argv[3]) : 28;
    int reps = argc > 4 ? std::stoi(argv[4]) : 20;
    Generator gen(0);
    auto model = create_model(name, &gen);
    const int64_t in_chans = model->config().in_chans;
    Tensor x = randn({batch, in_chans, size, size}, DType::Float32, &gen);
    Tensor y = randint(0, std::max<int64_t>(model->config().num_classes, 1), {batch}, &gen);
    std::vector<double> fwd, step, evalt, step_cpu;
    for (int r = 0; r < reps + 2; ++r) {
        model->train();
        const double c0 = cpu_seconds();
        auto t0 = Clock::now();
        Tensor logits = model->forward(x);
        Tensor loss = cross_entropy(logits, y);
        auto t1 = Clock::now();
        backward(loss);
        model->zero_grad();
        auto t2 = Clock::now();
        const double c2 = cpu_seconds();
        model->eval();
        {
            NoGradGuard ng;
            model->forward(x);
        }
        auto t3 = Clock::now();
        if (r < 2) continue;  // warm-up: primitive creation, allocator
        fwd.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        step.push_back(std::chrono::duration<double, std::milli>(t2 - t0).count());
        step_cpu.push_back(1e3 * (c2 - c0));
        evalt.push_back(std::chrono::duration<double, std::milli>(t3 - t2).count());
    }
    auto med = [](std::vector<double> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; };
    std::printf("%s batch %ld %ldx%ld threads %d: train step %.1f ms (forward %.1f) = %.0f img/s; eval forward %.1f ms = %.0f img/s; system allocations %ld; train step CPU time %.1f ms\n",
                name.c_str(), (long)batch, (long)size, (long)size, get_num_threads(), med(step), med(fwd),
                batch * 1000.0 / med(step), med(evalt), batch * 1000.0 / med(evalt),
                (long)allocator_stats().system_allocations, med(step_cpu));
}

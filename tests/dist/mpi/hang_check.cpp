// Run under mpirun with K >= 2 ranks and a short CARDINAL_DIST_TIMEOUT: data-parallel steps in
// which rank 1, at the third step, either sleeps far longer than the timeout (`sleep`) or
// exits without a word (`exit`). The other ranks must not wait forever: with `sleep` they stop
// after the timeout with a line naming rank 1; with `exit` mpirun ends the job. ctest checks
// the output and exit status (and its TIMEOUT bounds the run: a hang fails the test).
// Usage: hang_check sleep|exit
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "autograd/engine.h"
#include "dist/comm.h"
#include "dist/grad_sync.h"
#include "nn/layers/linear.h"
#include "ops/loss.h"
#include "tensor/random.h"

using namespace cardinal;

int main(int argc, char** argv) {
    dist::Comm comm(&argc, &argv);
    if (argc != 2 || (std::strcmp(argv[1], "sleep") != 0 && std::strcmp(argv[1], "exit") != 0)) {
        if (comm.rank() == 0) std::fprintf(stderr, "usage: hang_check sleep|exit\n");
        return 2;
    }
    const bool sleeps = std::strcmp(argv[1], "sleep") == 0;
    Generator g(3);
    Linear model(4, 2, true, &g);
    dist::GradSync sync(comm, model.parameters());
    for (int step = 0; step < 5; ++step) {
        if (step == 2 && comm.rank() == 1) {
            if (!sleeps) _exit(3);
            sleep(600);
        }
        Generator data(step);
        Tensor x = randn({3, 4}, DType::Float32, &data), y = randn({3, 2}, DType::Float32, &data);
        model.zero_grad();
        sync.begin(1.0 / comm.size());
        backward(mse_loss(model.forward(x), y));
        sync.finish();
        if (comm.rank() == 0) std::printf("step %d synchronised\n", step + 1);
        std::fflush(stdout);
    }
    std::printf("rank %d: finished all steps, which it must not\n", comm.rank());
    return 0;
}

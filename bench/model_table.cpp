// Prints the markdown table of docs/models.md: every named model with its parameter count and
// forward GMACs (convolutions + fc, one image at the model's input size).
#include <cstdio>

#include "models/resnet.h"

using namespace cardinal;

int main() {
    std::printf("| model | block | layers | parameters | input | forward GMACs |\n|---|---|---|---|---|---|\n");
    for (const std::string& name : model_names()) {
        const ModelInfo& info = model_info(name);
        auto model = create_model(name);
        const ResNetConfig& c = info.config;
        std::printf("| `%s` | %s | %ld-%ld-%ld-%ld | %ld | %ldx%ldx%ld | %.3f |\n", name.c_str(), c.block.c_str(),
                    (long)c.layers[0], (long)c.layers[1], (long)c.layers[2], (long)c.layers[3],
                    (long)model->num_parameters(), (long)c.in_chans, (long)info.input_size, (long)info.input_size,
                    count_macs(*model, info.input_size, info.input_size) / 1e9);
        std::fflush(stdout);
    }
}

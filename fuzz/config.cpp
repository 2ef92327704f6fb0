// Fuzz target: the model config files a user passes: `cardinal train --config FILE`
// (apps resolve_model: bare timm kwargs or {"model", "kwargs"}), `cardinal infer --config FILE`
// (load_config_file) and a Hugging Face config.json beside --weights (read_hf_config). Only the
// config is checked: building the model it describes is the trainer's job, not parsing.
#include "apps/train_options.h"
#include "fuzz/fuzz_input.h"
#include "models/hf_config.h"
#include "models/infer.h"

using namespace cardinal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = fuzz::write_input("config.json", data, size);
    fuzz::refusal_is_fine([&] {
        apps::TrainOptions o;
        o.config_file = path;
        apps::ModelChoice choice = apps::resolve_model(o);
        choice.config.validate();
    });
    fuzz::refusal_is_fine([&] { load_config_file(path).validate(); });
    fuzz::refusal_is_fine([&] { read_hf_config(path); });
    return 0;
}

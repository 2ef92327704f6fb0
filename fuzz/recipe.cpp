// Fuzz target: `cardinal train --recipe FILE`: the JSON file is read (recipe_json), merged over
// the defaults (TrainOptions::merge_json: unknown keys, wrong types) and validated, as
// apps/cmd_train.cpp does before any training starts.
#include "apps/train_options.h"
#include "fuzz/fuzz_input.h"

using namespace cardinal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = fuzz::write_input("recipe.json", data, size);
    fuzz::refusal_is_fine([&] {
        apps::TrainOptions o;
        o.merge_json(apps::recipe_json(path), "--recipe " + path);
        o.out = "unused";  // --out is given on the command line, not in a recipe
        o.validate();
        // What a run then writes as options.json, and reads back from a checkpoint.
        apps::TrainOptions again;
        again.merge_json(nlohmann::json::parse(o.recipe().dump()), "the recipe written back");
    });
    return 0;
}

// closest_name / did_you_mean: the suggestion an error gives for a mistyped name.
#include <catch2/catch.hpp>

#include "tensor/suggest.h"

using namespace cardinal;

TEST_CASE("edit_distance counts insertions, deletions, substitutions and swaps", "[suggest]") {
    CHECK(edit_distance("train", "train") == 0);
    CHECK(edit_distance("trian", "train") == 1);  // neighbours swapped: one edit
    CHECK(edit_distance("tran", "train") == 1);
    CHECK(edit_distance("trainn", "train") == 1);
    CHECK(edit_distance("grain", "train") == 1);
    CHECK(edit_distance("", "eval") == 4);
    CHECK(edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("closest_name suggests a likely typo and nothing for an unrelated name", "[suggest]") {
    const std::vector<std::string> commands{"models", "infer", "train", "eval", "bench",
                                            "gradcheck", "graph"};
    CHECK(closest_name("trian", commands) == "train");
    CHECK(closest_name("evl", commands) == "eval");
    CHECK(closest_name("grpah", commands) == "graph");
    CHECK(closest_name("gradchek", commands) == "gradcheck");
    CHECK(closest_name("zzzzzzzz", commands).empty());
    CHECK(closest_name("", commands).empty());
    CHECK(did_you_mean("benhc", commands) == "; did you mean 'bench'?");
    CHECK(did_you_mean("qqq", commands).empty());
    CHECK(closest_name("x", {}).empty());
}

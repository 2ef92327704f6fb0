// Running the built `cardinal` binary (CARDINAL_BINARY_DIR/cardinal) from a test: exit status,
// stdout and stderr.
#pragma once
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/io/io_test_util.h"

namespace cardinal::test {

inline const std::string kCardinalBinary = std::string(CARDINAL_BINARY_DIR) + "/cardinal";

struct CliRun {
    int status = 0;
    std::string out, err;
};

inline std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

// Runs `cardinal <args>` with stdout and stderr captured in files of `dir`.
inline CliRun cardinal_run(const TempDir& dir, const std::string& args) {
    const std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
    CliRun r;
    r.status = std::system((kCardinalBinary + " " + args + " >" + out + " 2>" + err).c_str());
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
}

}  // namespace cardinal::test

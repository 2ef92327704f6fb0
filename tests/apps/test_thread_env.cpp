// A bad CARDINAL_NUM_THREADS: the program starts (nothing throws before main), and `cardinal`
// answers with one escaped line and the usage exit code 2.
#include <sys/wait.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

#include "tests/apps/cli_run.h"

using namespace cardinal::test;
using Catch::Matchers::Contains;

namespace {

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
size_t lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

TEST_CASE("cli: a bad CARDINAL_NUM_THREADS is one line and exit 2, not a crash", "[apps][cli]") {
    TempDir dir;
    const std::pair<std::string, std::string> cases[] = {
        {"abc", "got 'abc'"},
        {"0", "got '0'"},
        {"99999999999999999999", "got '99999999999999999999'"},
        {"'4 '", "got '4 '"},
        {"\"$(printf '\\033[31mred\\007')\"", "got '\\x1B[31mred\\x07'"},  // escaped, not raw
    };
    for (const auto& [value, message] : cases) {
        CliRun r = cardinal_run(dir, "models");
        REQUIRE(exit_code(r.status) == 0);  // the same command without the variable works
        const std::string cmd = "env CARDINAL_NUM_THREADS=" + value + " " + kCardinalBinary +
                                " models >" + dir.file("o.txt") + " 2>" + dir.file("e.txt");
        const int status = std::system(cmd.c_str());
        const std::string err = slurp(dir.file("e.txt"));
        INFO("CARDINAL_NUM_THREADS=" << value << "\nstderr: " << err);
        CHECK(exit_code(status) == 2);
        CHECK_THAT(err, Contains("CARDINAL_NUM_THREADS: expected a whole number from 1 to 4096"));
        CHECK_THAT(err, Contains(message));
        CHECK(lines(err) == 1);
        CHECK(err.find('\033') == std::string::npos);
        CHECK(slurp(dir.file("o.txt")).empty());
    }
    // A good value is applied.
    const int status = std::system(("env CARDINAL_NUM_THREADS=1 " + kCardinalBinary +
                                    " bench --peak --iters 1 >" + dir.file("o.txt") + " 2>&1").c_str());
    CHECK(exit_code(status) == 0);
    CHECK_THAT(slurp(dir.file("o.txt")), Contains("\"threads\":1"));
}

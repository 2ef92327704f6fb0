// How a command ends when not with 0. main() turns a UsageError (unknown name, bad value,
// impossible combination) into one line on stderr and exit code 2, like CLI11's own usage
// errors; a command whose result is a verdict (gradcheck: mismatch) throws ExitCode after
// printing its report.
#pragma once
#include "tensor/error.h"

namespace cardinal::apps {

class UsageError : public Error {
    using Error::Error;
};

struct ExitCode {
    int code;
};

}  // namespace cardinal::apps

// A command whose result is a verdict (gradcheck: a mismatch) prints its report and then
// throws ExitCode; main() exits with that code. Usage errors are UsageError (apps/commands.h),
// exit code 2.
#pragma once
#include "apps/commands.h"

namespace cardinal::apps {

struct ExitCode {
    int code;
};

}  // namespace cardinal::apps

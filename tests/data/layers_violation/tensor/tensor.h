#pragma once
namespace t { inline int one() { return 1; } }

// escape_for_message: outside strings printed safely (control bytes and bad UTF-8 as \xNN).
#include <catch2/catch.hpp>

#include "tensor/escape.h"

using cardinal::escape_for_message;

TEST_CASE("escape_for_message keeps text and escapes control bytes and bad UTF-8", "[escape]") {
    CHECK(escape_for_message("layer1.0.conv1.weight") == "layer1.0.conv1.weight");
    CHECK(escape_for_message("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80") ==
          "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");  // é € 😀 pass unchanged
    CHECK(escape_for_message("\x1B[31mred\x07") == "\\x1B[31mred\\x07");
    CHECK(escape_for_message(std::string("a\0b", 3)) == "a\\x00b");
    CHECK(escape_for_message("tab\tnl\ndel\x7F") == "tab\\x09nl\\x0Adel\\x7F");
    CHECK(escape_for_message("back\\slash") == "back\\\\slash");
    CHECK(escape_for_message("\xFF\xFE") == "\\xFF\\xFE");             // never valid
    CHECK(escape_for_message("\xC3") == "\\xC3");                      // truncated sequence
    CHECK(escape_for_message("\xC0\xAF") == "\\xC0\\xAF");             // overlong '/'
    CHECK(escape_for_message("\xED\xA0\x80") == "\\xED\\xA0\\x80");    // a surrogate
    CHECK(escape_for_message("\xF4\x90\x80\x80") == "\\xF4\\x90\\x80\\x80");  // above U+10FFFF
}

TEST_CASE("escape_controls escapes control bytes and bad UTF-8 but leaves backslashes",
          "[escape]") {
    using cardinal::escape_controls;
    CHECK(escape_controls("last read: '\"\xFF\x1B[31m'") == "last read: '\"\\xFF\\x1B[31m'");
    CHECK(escape_controls("caf\xC3\xA9") == "caf\xC3\xA9");
    // Text escape_for_message wrote passes unchanged (no double escaping).
    const std::string once = escape_for_message("a\\b\x1B");
    CHECK(escape_controls(once) == once);
}

// Strings from outside (files, the environment, the network) made safe to print in a message.
#pragma once
#include <string>
#include <string_view>

namespace cardinal {

// s with control characters (including ESC, BEL, DEL) and bytes that are not valid UTF-8
// written as \xNN, and a backslash as \\; valid UTF-8 text passes unchanged. So a hostile name
// cannot drive the user's terminal or put raw bytes on stderr.
std::string escape_for_message(std::string_view s);

// s with control characters and bytes that are not valid UTF-8 written as \xNN, backslashes
// left as they are: the last net before a message reaches the terminal (apps/cli.cpp's
// print_error), for messages that quote a file through a library's own text (a JSON parser's
// "last read: ..."). Text already escaped by escape_for_message passes unchanged.
std::string escape_controls(std::string_view s);

}  // namespace cardinal

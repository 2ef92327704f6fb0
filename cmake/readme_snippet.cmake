# cmake -DREADME=<README.md> -DOUT=<file.cpp> -P cmake/readme_snippet.cmake
#
# Writes the README's first ```cpp snippet, as written, into a program: its lines up to and
# including `using namespace cardinal;` (the includes) at file scope, the rest into main(),
# which returns whether the snippet's `result` (a gradcheck) passed. The in-tree test
# (CMakeLists.txt) and the installed-package test (scripts/test_consumer.sh) both build from
# this, so the README cannot drift from code that compiles and runs. A README without such a
# snippet is an error, not a skipped test.
if(NOT README OR NOT OUT)
  message(FATAL_ERROR "readme_snippet.cmake: expected -DREADME=<README.md> -DOUT=<file.cpp>")
endif()
file(READ ${README} readme)
string(FIND "${readme}" "```cpp\n" snippet_start)
if(snippet_start EQUAL -1)
  message(FATAL_ERROR "readme_snippet.cmake: expected a ```cpp block in ${README}, found none")
endif()
math(EXPR snippet_start "${snippet_start} + 7")
string(SUBSTRING "${readme}" ${snippet_start} -1 snippet)
string(FIND "${snippet}" "```" snippet_end)
string(SUBSTRING "${snippet}" 0 ${snippet_end} snippet)
string(FIND "${snippet}" "using namespace cardinal;" body_start)
string(FIND "${snippet}" "auto result = " result_at)
if(body_start EQUAL -1 OR result_at EQUAL -1)
  message(FATAL_ERROR "readme_snippet.cmake: expected the ```cpp block in ${README} to have "
          "`using namespace cardinal;` after its includes and an `auto result = ` gradcheck")
endif()
math(EXPR body_start "${body_start} + 25")
string(SUBSTRING "${snippet}" 0 ${body_start} snippet_head)
string(SUBSTRING "${snippet}" ${body_start} -1 snippet_body)
set(content "// Generated from README.md by cmake/readme_snippet.cmake: do not edit.\n${snippet_head}\nint main() {\n${snippet_body}    return result.ok ? 0 : 1;\n}\n")
# Rewritten only when it changes, so an unrelated README edit rebuilds nothing.
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT "${old}" STREQUAL "${content}")
  file(WRITE ${OUT} "${content}")
endif()

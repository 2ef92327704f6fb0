# Runs one example program and compares its standard output with the copy printed in its
# guide: the fenced ```text block that follows the line "<!-- output of NAME -->" in GUIDE
# (error sizes aside, see below).
# Used by ctest (CMakeLists.txt: the example:* tests), as
#   cmake -DPROGRAM=path -DNAME=example_x -DGUIDE=docs/backprop/x.md [-DARGS=a;b] -P compare_output.cmake
execute_process(COMMAND ${PROGRAM} ${ARGS} OUTPUT_VARIABLE actual ERROR_VARIABLE errors RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NAME} exited with ${rc}:\n${actual}${errors}")
endif()
file(READ ${GUIDE} guide)
set(marker "<!-- output of ${NAME} -->")
string(FIND "${guide}" "${marker}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${GUIDE} has no line '${marker}' followed by the program's output")
endif()
string(SUBSTRING "${guide}" ${at} -1 rest)
string(FIND "${rest}" "```text\n" open)
if(open EQUAL -1)
  message(FATAL_ERROR "${GUIDE}: no ```text block after '${marker}'")
endif()
math(EXPR open "${open} + 8")
string(SUBSTRING "${rest}" ${open} -1 rest)
string(FIND "${rest}" "```" close)
string(SUBSTRING "${rest}" 0 ${close} expected)
# Error sizes ("< 1e-15", "0 (exact)") are compared as such, not by their power of ten: a
# rounding-level difference depends on the CPU (-march=native, FMA contraction) and the last
# bit of a finite difference. A real mismatch still shows: the programs print MISMATCH / FAIL
# next to any error above its tolerance, and that text is compared.
set(error_size "< 1e-?[0-9]+|0 \\(exact\\)")
string(REGEX REPLACE "${error_size}" "<error size>" actual_cmp "${actual}")
string(REGEX REPLACE "${error_size}" "<error size>" expected_cmp "${expected}")
if(NOT actual_cmp STREQUAL expected_cmp)
  get_filename_component(out_dir ${PROGRAM} DIRECTORY)
  file(WRITE ${out_dir}/${NAME}.actual.txt "${actual}")
  file(WRITE ${out_dir}/${NAME}.guide.txt "${expected}")
  message(FATAL_ERROR "${NAME}: the output differs from the one printed in ${GUIDE}; compare\n"
                      "  ${out_dir}/${NAME}.actual.txt with ${out_dir}/${NAME}.guide.txt (diff -u)")
endif()
message(STATUS "${NAME}: output matches ${GUIDE}")

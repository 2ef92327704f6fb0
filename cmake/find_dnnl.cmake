# Finds oneDNN and makes the target DNNL::dnnl. Used by the build and by the installed
# cardinalConfig.cmake, so a consumer finds oneDNN the same way cardinal was built with it.
# Debian's dnnl config runs find_package(OpenCL REQUIRED) (its oneDNN was built with the OpenCL
# GPU runtime), which needs the OpenCL dev packages; without them, fall back to the library and
# header found directly.
if(NOT TARGET DNNL::dnnl)
  find_package(dnnl 2.6 CONFIG QUIET)
endif()
if(NOT TARGET DNNL::dnnl)
  find_library(DNNL_LIBRARY NAMES dnnl)
  find_path(DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.hpp)
  if(DNNL_LIBRARY AND DNNL_INCLUDE_DIR)
    add_library(DNNL::dnnl UNKNOWN IMPORTED)
    set_target_properties(DNNL::dnnl PROPERTIES IMPORTED_LOCATION "${DNNL_LIBRARY}"
                          INTERFACE_INCLUDE_DIRECTORIES "${DNNL_INCLUDE_DIR}")
  endif()
endif()
# The caller decides what a missing oneDNN means (the build stops; the package config reports
# itself not found), with this line:
set(CARDINAL_DNNL_NOT_FOUND_MESSAGE "oneDNN not found: expected dnnl's CMake config, or libdnnl "
    "and oneapi/dnnl/dnnl.hpp (Debian: apt-get install libdnnl-dev)")

# cardinal_add_layer(<layer> [USES <layer>...] [MAY_ALSO_USE <layer>...] [PUBLIC_LINK ...] [PRIVATE_LINK ...]
#                    [SOURCES <extra .cpp>...] [EXCLUDE_REGEX <regex>] [NOT_INSTALLED])
#
# One library per layer folder: cardinal_<layer> (alias cardinal::<layer>, installed as
# libcardinal_<layer>), built from <layer>/**/*.cpp. USES lists every layer it may include and
# call, all of them, not only the nearest: these calls are the table docs/architecture.md shows
# and scripts/check_layers.py checks every #include against. MAY_ALSO_USE names an optional layer
# (dist, built only with MPI) the layer may include without this call linking it: the caller
# links it where it is built and wanted.
#
# The build enforces the table twice:
# - includes: a layer's headers are reachable only through build/layers/<layer>/<layer> (a link
#   to the source folder), and a target has build/layers/<x> on its include path only for itself
#   and the layers it links, so `#include "models/resnet.h"` in nn/ is "no such file";
# - calls: a layer links only the layers it uses, so a call into a layer above is an undefined
#   reference when the layer's library (or a program using it) links.
# Installed, every layer's headers sit side by side in include/cardinal/<layer>/, and the same
# "tensor/tensor.h" spelling resolves against include/cardinal.
function(cardinal_add_layer layer)
  cmake_parse_arguments(L "NOT_INSTALLED" "EXCLUDE_REGEX" "USES;MAY_ALSO_USE;PUBLIC_LINK;PRIVATE_LINK;SOURCES" ${ARGN})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${layer}/*.cpp)
  if(L_EXCLUDE_REGEX)
    list(FILTER sources EXCLUDE REGEX "${L_EXCLUDE_REGEX}")
  endif()
  set(target cardinal_${layer})
  if(L_NOT_INSTALLED)
    add_library(${target} STATIC ${sources} ${L_SOURCES})  # private to this build
  else()
    add_library(${target} ${sources} ${L_SOURCES})  # static or shared: BUILD_SHARED_LIBS
    set_target_properties(${target} PROPERTIES
                          VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  endif()
  add_library(cardinal::${layer} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${layer} OUTPUT_NAME cardinal_${layer})

  set(farm ${CMAKE_CURRENT_BINARY_DIR}/layers/${layer})
  file(MAKE_DIRECTORY ${farm})
  file(CREATE_LINK ${CMAKE_CURRENT_SOURCE_DIR}/${layer} ${farm}/${layer} SYMBOLIC)  # replaces an old one
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${farm}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/cardinal>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)   # <cardinal/version.h>
  foreach(used ${L_USES})
    if(NOT TARGET cardinal_${used})
      message(FATAL_ERROR "cardinal_add_layer(${layer}): uses '${used}', which is not a layer defined before it")
    endif()
    target_link_libraries(${target} PUBLIC cardinal_${used})
  endforeach()
  target_link_libraries(${target} PUBLIC ${L_PUBLIC_LINK} PRIVATE ${L_PRIVATE_LINK})
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter
                         -Wno-maybe-uninitialized -Wno-missing-field-initializers)
  if(CARDINAL_NATIVE)
    target_compile_options(${target} PRIVATE -march=native)
  endif()
  if(NOT L_NOT_INSTALLED)
    set_property(GLOBAL APPEND PROPERTY CARDINAL_INSTALLED_LAYERS ${layer})
  endif()
endfunction()

# FindLibuv: libuv through pkg-config (Debian's libuv1-dev ships no CMake
# config), with a plain search as fallback. Defines libuv::libuv, the name
# upstream's own config exports, so either way consumers link the same.
include(FindPackageHandleStandardArgs)
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(PC_LIBUV QUIET libuv)
endif()

find_path(Libuv_INCLUDE_DIR NAMES uv.h HINTS ${PC_LIBUV_INCLUDE_DIRS})
find_library(Libuv_LIBRARY NAMES uv libuv HINTS ${PC_LIBUV_LIBRARY_DIRS})
set(Libuv_VERSION ${PC_LIBUV_VERSION})
if(NOT Libuv_VERSION AND Libuv_INCLUDE_DIR AND EXISTS "${Libuv_INCLUDE_DIR}/uv/version.h")
  file(STRINGS "${Libuv_INCLUDE_DIR}/uv/version.h" _uv_version_lines REGEX "#define UV_VERSION_(MAJOR|MINOR|PATCH)")
  string(REGEX REPLACE ".*MAJOR ([0-9]+).*MINOR ([0-9]+).*PATCH ([0-9]+).*" "\\1.\\2.\\3" Libuv_VERSION "${_uv_version_lines}")
endif()

find_package_handle_standard_args(Libuv
  REQUIRED_VARS Libuv_LIBRARY Libuv_INCLUDE_DIR
  VERSION_VAR Libuv_VERSION)

if(Libuv_FOUND AND NOT TARGET libuv::libuv)
  add_library(libuv::libuv UNKNOWN IMPORTED)
  set_target_properties(libuv::libuv PROPERTIES
    IMPORTED_LOCATION "${Libuv_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${Libuv_INCLUDE_DIR}")
endif()
mark_as_advanced(Libuv_INCLUDE_DIR Libuv_LIBRARY)

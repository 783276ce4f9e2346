# librdkafka, linked statically into kcanary: the version pinned in
# deps/librdkafka.pin, built from Debian's source package by
# scripts/build-librdkafka.sh into a cache outside the build tree (the first
# configure on a machine builds it, ~35 s; later ones find it). Defines
# kcanary::rdkafka: librdkafka.a, then the shared system libraries it needs.
set(_kcanary_rdkafka_script "${CMAKE_CURRENT_SOURCE_DIR}/scripts/build-librdkafka.sh")
set(_kcanary_rdkafka_pin "${CMAKE_CURRENT_SOURCE_DIR}/deps/librdkafka.pin")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_kcanary_rdkafka_pin}")

file(STRINGS "${_kcanary_rdkafka_pin}" _kcanary_rdkafka_version REGEX "^LIBRDKAFKA_VERSION=")
string(REPLACE "LIBRDKAFKA_VERSION=" "" _kcanary_rdkafka_version "${_kcanary_rdkafka_version}")

execute_process(COMMAND "${_kcanary_rdkafka_script}" COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND "${_kcanary_rdkafka_script}" --print-prefix
                OUTPUT_VARIABLE _kcanary_rdkafka_prefix OUTPUT_STRIP_TRAILING_WHITESPACE
                COMMAND_ERROR_IS_FATAL ANY)

# The pinned build is searched first, and its version is required: a system
# librdkafka (Debian 12's librdkafka-dev, 2.0.2) is never picked up instead.
set(ENV{PKG_CONFIG_PATH} "${_kcanary_rdkafka_prefix}/lib/pkgconfig:$ENV{PKG_CONFIG_PATH}")
pkg_check_modules(RDKAFKA REQUIRED rdkafka-static=${_kcanary_rdkafka_version})

# Not pkg-config's IMPORTED_TARGET: it puts the archive among the link
# options, ahead of the objects that need it. Here the archive comes first,
# then its dependencies by name (-lz -lssl ... from the .pc, shared).
add_library(kcanary_rdkafka STATIC IMPORTED GLOBAL)
set_target_properties(kcanary_rdkafka PROPERTIES
  IMPORTED_LOCATION "${_kcanary_rdkafka_prefix}/lib/librdkafka.a"
  INTERFACE_INCLUDE_DIRECTORIES "${_kcanary_rdkafka_prefix}/include"
  INTERFACE_LINK_LIBRARIES "${RDKAFKA_LIBRARIES}"
  INTERFACE_LINK_DIRECTORIES "${RDKAFKA_LIBRARY_DIRS}")
add_library(kcanary::rdkafka ALIAS kcanary_rdkafka)
message(STATUS "librdkafka ${RDKAFKA_VERSION} (static) from ${_kcanary_rdkafka_prefix}")

# Debian package of kcanary, built by CPack (scripts/package.sh runs
# `cpack -G DEB`). Installs the binary, the systemd unit, its configuration
# (as conffiles, so an upgrade keeps local edits), the docs, the alert rules
# and the Grafana dashboard.
#
# The unit and /etc files go to absolute paths: that is where systemd and the
# admin look for them whatever the install prefix (CPack builds with /usr).

include(GNUInstallDirs)

set(KCANARY_UNIT_DIR "/lib/systemd/system" CACHE PATH "Where the systemd unit is installed")
set(kcanary_sysconf_files /etc/default/kcanary /etc/kcanary/client.properties)

install(FILES deploy/systemd/kcanary.service DESTINATION "${KCANARY_UNIT_DIR}")
install(FILES deploy/systemd/kcanary.default DESTINATION /etc/default RENAME kcanary)
# May hold secrets once edited: readable by root only (the unit hands kcanary a
# copy through LoadCredential=).
install(FILES deploy/kcanary.properties.example DESTINATION /etc/kcanary
        RENAME client.properties PERMISSIONS OWNER_READ OWNER_WRITE)
install(FILES README.md docs/runbook.md deploy/kcanary.properties.example
        DESTINATION "${CMAKE_INSTALL_DOCDIR}")
install(FILES deploy/prometheus/kcanary-rules.yml DESTINATION "${CMAKE_INSTALL_DATADIR}/kcanary/prometheus")
install(FILES dashboards/kcanary.json DESTINATION "${CMAKE_INSTALL_DATADIR}/kcanary/grafana")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME kcanary)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "kcanary maintainers <kcanary@example.org>"
    CACHE STRING "Maintainer field of the Debian package")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "end-to-end message-loss detector for Apache Kafka")
# Debian wants the long description wrapped; CPack indents each line.
set(CPACK_PACKAGE_DESCRIPTION "\
kcanary produces sequence-numbered canary records to every partition of a
topic, verifies each one end to end and puts every expected record into one
class: lost, expired, not committed, indeterminate, duplicated, ... It exports
Prometheus metrics and pages only when Kafka lost a committed record.
The package ships a hardened systemd unit (not enabled), alert rules and a
Grafana dashboard.")
set(CPACK_STRIP_FILES ON)  # the RelWithDebInfo binary is ~36 MB with debug info
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # kcanary_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends: computed from the binary's shared libraries by dpkg-shlibdeps.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# CPack does not mark /etc files as conffiles by itself.
string(REPLACE ";" "\n" kcanary_conffiles "${kcanary_sysconf_files}")
file(WRITE "${CMAKE_CURRENT_BINARY_DIR}/debian/conffiles" "${kcanary_conffiles}\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${CMAKE_CURRENT_BINARY_DIR}/debian/conffiles"
    "${CMAKE_CURRENT_SOURCE_DIR}/deploy/debian/postinst"
    "${CMAKE_CURRENT_SOURCE_DIR}/deploy/debian/prerm"
    "${CMAKE_CURRENT_SOURCE_DIR}/deploy/debian/postrm")

include(CPack)

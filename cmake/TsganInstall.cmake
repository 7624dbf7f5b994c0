# `cmake --install` puts the headers, tsganConfig.cmake and its version file under the prefix;
# find_package(tsgan 0.1) then gives tsgan::tsgan with the same dependencies.
include(CMakePackageConfigHelpers)

install(DIRECTORY include/tsgan DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS tsgan EXPORT tsganTargets)
install(EXPORT tsganTargets NAMESPACE tsgan:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tsgan)

configure_package_config_file(cmake/tsganConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/tsganConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tsgan)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/tsganConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/tsganConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/tsganConfigVersion.cmake
  cmake/FindCUDNN.cmake
  cmake/TsganBlas.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tsgan)

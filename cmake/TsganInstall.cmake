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

# tsgan.pc for pkg-config users, with the OpenMP and OpenBLAS flags of this build (a header-only
# library has no binary of its own to link; its dependencies' flags are what it needs).
set(TSGAN_PC_CFLAGS "")
set(TSGAN_PC_LIBS "")
if(OpenMP_CXX_FOUND)
  string(APPEND TSGAN_PC_CFLAGS " ${OpenMP_CXX_FLAGS}")
  string(APPEND TSGAN_PC_LIBS " ${OpenMP_CXX_FLAGS}")
endif()
get_target_property(tsgan_blas_library tsgan::openblas INTERFACE_LINK_LIBRARIES)
if(tsgan_blas_library)
  get_filename_component(tsgan_blas_dir ${tsgan_blas_library} DIRECTORY)
  string(APPEND TSGAN_PC_CFLAGS " -DTSGAN_WITH_OPENBLAS=1 -I${TSGAN_OPENBLAS_INCLUDE_DIR}")
  string(APPEND TSGAN_PC_LIBS " -L${tsgan_blas_dir} -Wl,-rpath,${tsgan_blas_dir} -lopenblas")
endif()
string(STRIP "${TSGAN_PC_CFLAGS}" TSGAN_PC_CFLAGS)
string(STRIP "${TSGAN_PC_LIBS}" TSGAN_PC_LIBS)
# The prefix relative to the file, so that `cmake --install --prefix` anywhere gives a working file.
file(RELATIVE_PATH TSGAN_PC_UP /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(cmake/tsgan.pc.in ${CMAKE_CURRENT_BINARY_DIR}/tsgan.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tsgan.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

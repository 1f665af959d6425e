# lustConfuse.cmake - the imported target lust::confuse: libconfuse's headers and library.
# Used by liblust's own build and installed beside lustConfig.cmake, because lust/config.h
# includes <confuse.h> and every consumer needs both. pkg-config first (it knows the flags of
# any install); without it, the header and library where the compiler looks, as Debian's
# libconfuse-dev puts them.
if(TARGET lust::confuse)
    return()
endif()

find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
    pkg_check_modules(LUST_CONFUSE QUIET IMPORTED_TARGET GLOBAL libconfuse)
endif()
if(TARGET PkgConfig::LUST_CONFUSE)
    add_library(lust::confuse INTERFACE IMPORTED GLOBAL)
    set_target_properties(lust::confuse PROPERTIES INTERFACE_LINK_LIBRARIES PkgConfig::LUST_CONFUSE)
    set(LUST_CONFUSE_INCLUDE_DIRS ${LUST_CONFUSE_INCLUDE_DIRS})
else()
    find_path(LUST_CONFUSE_INCLUDE_DIR confuse.h)
    find_library(LUST_CONFUSE_LIBRARY confuse)
    if(NOT LUST_CONFUSE_INCLUDE_DIR OR NOT LUST_CONFUSE_LIBRARY)
        message(FATAL_ERROR "libconfuse not found (confuse.h and libconfuse): install "
                            "libconfuse-dev, or set LUST_CONFUSE_INCLUDE_DIR and "
                            "LUST_CONFUSE_LIBRARY")
    endif()
    add_library(lust::confuse UNKNOWN IMPORTED GLOBAL)
    set_target_properties(lust::confuse PROPERTIES
        IMPORTED_LOCATION "${LUST_CONFUSE_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${LUST_CONFUSE_INCLUDE_DIR}")
    set(LUST_CONFUSE_INCLUDE_DIRS ${LUST_CONFUSE_INCLUDE_DIR})
endif()

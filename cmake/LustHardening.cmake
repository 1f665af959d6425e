# The hardening a distribution's package build gives (Debian: DEB_BUILD_MAINT_OPTIONS =
# hardening=+all), for every target of a plain source build too: a daemon built from source
# runs as root at first, like the packaged one. LUST_HARDEN=OFF turns it off.
#   -fstack-protector-strong, -fstack-clash-protection, -fcf-protection (x86), and
#   _FORTIFY_SOURCE=2 when optimizing (it needs -O; sanitizer builds leave it to the sanitizer);
#   -z relro -z now: the GOT read-only after relocation, every symbol bound at load.
# A flag the compiler lacks is skipped; flags the packager already passes are not repeated.
include(CheckCCompilerFlag)
include(CheckLinkerFlag)

if(LUST_HARDEN)
    foreach(flag -fstack-protector-strong -fstack-clash-protection -fcf-protection)
        string(MAKE_C_IDENTIFIER "lust_cc${flag}" var)
        check_c_compiler_flag(${flag} ${var})
        if(${var} AND NOT CMAKE_C_FLAGS MATCHES "(^| )${flag}( |$)")
            add_compile_options(${flag})
        endif()
    endforeach()
    if(NOT "${CMAKE_C_FLAGS} ${CMAKE_CPPFLAGS}" MATCHES "_FORTIFY_SOURCE"
       AND NOT LUST_SANITIZE AND NOT LUST_FUZZ AND NOT LUST_TSAN)
        add_compile_definitions($<$<NOT:$<CONFIG:Debug>>:_FORTIFY_SOURCE=2>)
    endif()
    check_linker_flag(C "LINKER:-z,now" lust_ld_now)
    if(lust_ld_now)
        add_link_options(LINKER:-z,relro LINKER:-z,now)
    endif()
endif()
